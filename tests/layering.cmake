# The architecture the tree promises, checked on the sources: core/ includes nothing from ui/ or
# app/ and no Qt, so the engine builds without a display; ui/ and app/gui reach the engine through
# one header, core/msnlens.h (value types come through it), as llama.cpp's front ends include
# llama.h alone.
#   cmake -DSRC=<source dir> -P tests/layering.cmake
file(GLOB_RECURSE core_files "${SRC}/core/*.h" "${SRC}/core/*.cpp")
foreach(file ${core_files})
  file(STRINGS "${file}" found REGEX "^#include [<\"](Q[A-Za-z]+|ui/|app/)")
  if(found)
    message(SEND_ERROR "${file}: core/ must not include ${found}")
  endif()
endforeach()
file(GLOB front_files "${SRC}/ui/*.h" "${SRC}/ui/*.cpp" "${SRC}/app/gui/*.h" "${SRC}/app/gui/*.cpp")
foreach(file ${front_files})
  file(STRINGS "${file}" found REGEX "^#include \"(analysis|checkpoint|common|engine|imaging|kernels|model|train)/")
  if(found)
    message(SEND_ERROR "${file}: the front end includes the engine through msnlens.h only, not ${found}")
  endif()
endforeach()
list(LENGTH core_files core_count)
list(LENGTH front_files front_count)
message(STATUS "layering: ${core_count} engine files, ${front_count} front-end files checked")
