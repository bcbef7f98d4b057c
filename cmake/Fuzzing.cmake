# `make fuzz`: libFuzzer harnesses built by clang with AddressSanitizer and
# UndefinedBehaviorSanitizer; our code instrumented, LibTorch/OpenCV as shipped.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "MSNLENS_FUZZ needs clang (CXX=clang++)")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
add_link_options(-fsanitize=address,undefined)
