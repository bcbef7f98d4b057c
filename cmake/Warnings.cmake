# Warnings for our own code; third-party headers come in as system includes and stay quiet.
add_library(msnlens_warnings INTERFACE)
target_compile_options(msnlens_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual -Wcast-align
  $<$<BOOL:${MSNLENS_WERROR}>:-Werror>)
