# LibTorch: Debian's libtorch-dev (1.13, CPU) or an official LibTorch 2.x, CUDA or not
# (point CMAKE_PREFIX_PATH at it, e.g. python3 -c 'import torch; print(torch.utils.cmake_prefix_path)').
find_package(Torch REQUIRED)
# With a CUDA LibTorch the engine also uses its CUDA C++ API (device names, CUDA graphs);
# -DMSNLENS_CUDA_API=OFF builds without it (CUDA then still runs, through plain ATen calls).
option(MSNLENS_CUDA_API "Use LibTorch's CUDA C++ API when LibTorch has CUDA" ON)
set(MSNLENS_WITH_CUDA OFF)
if(MSNLENS_CUDA_API AND (TORCH_CUDA_LIBRARIES OR C10_CUDA_LIBRARY))
  set(MSNLENS_WITH_CUDA ON)
endif()
# LibTorch 2.12 and later refuse to compile below C++20.
if(Torch_VERSION VERSION_GREATER_EQUAL 2.12 AND CMAKE_CXX_STANDARD LESS 20)
  set(CMAKE_CXX_STANDARD 20)
endif()
message(STATUS "LibTorch ${Torch_VERSION}; CUDA: ${MSNLENS_WITH_CUDA}; C++${CMAKE_CXX_STANDARD}")

# oneDNN for the fused CPU encoder (core/kernels): used only when LibTorch itself links this
# shared libdnnl (Debian's does). Official LibTorch releases embed their own oneDNN; a second,
# different copy in the same process would clash with it, so those builds go without.
set(MSNLENS_WITH_ONEDNN OFF)
find_path(DNNL_INCLUDE_DIR dnnl.hpp)
find_library(DNNL_LIBRARY NAMES dnnl libdnnl.so.2)
find_library(TORCH_CPU_LIBRARY torch_cpu HINTS ${TORCH_INSTALL_PREFIX}/lib)
find_program(READELF readelf)
set(TORCH_CPU_DYNAMIC "")  # what libtorch_cpu links (readelf -d)
if(TORCH_CPU_LIBRARY AND READELF)
  execute_process(COMMAND ${READELF} -d ${TORCH_CPU_LIBRARY} OUTPUT_VARIABLE TORCH_CPU_DYNAMIC ERROR_QUIET)
endif()
if(DNNL_INCLUDE_DIR AND DNNL_LIBRARY AND TORCH_CPU_DYNAMIC MATCHES "NEEDED[^\n]*libdnnl")
  set(MSNLENS_WITH_ONEDNN ON)
endif()
message(STATUS "Fused oneDNN CPU encoder: ${MSNLENS_WITH_ONEDNN}")

# at::parallel_for is inline: compiled without OpenMP it runs every loop of ours on one thread
# (the fused encoder's own GEMMs and LayerNorm, the analysis loops). Compile with the OpenMP
# runtime LibTorch links, where that is the system's libgomp (Debian's); a LibTorch bundling its
# own copy gets no second runtime beside it, and our loops stay serial there.
set(MSNLENS_WITH_OPENMP OFF)
if(TORCH_CPU_DYNAMIC MATCHES "NEEDED[^\n]*\\[libgomp\\.so\\.1\\]")
  find_package(OpenMP COMPONENTS CXX)
  if(TARGET OpenMP::OpenMP_CXX)
    set(MSNLENS_WITH_OPENMP ON)
  endif()
endif()
message(STATUS "OpenMP in our own loops: ${MSNLENS_WITH_OPENMP}")

# zlib: gzip-compressed IDX files (Debian ships Fashion-MNIST that way).
find_package(ZLIB REQUIRED)

# Header-only libraries: packaged CMake configs where they exist, else plain headers found on
# CMAKE_INCLUDE_PATH (machines without the Debian packages, such as GPU boxes).
find_package(nlohmann_json 3.9 QUIET)
if(NOT TARGET nlohmann_json::nlohmann_json)
  # LibTorch wheels bundle a copy; every target must see the same one (its ABI namespace is
  # versioned), so it comes first.
  find_path(NLOHMANN_JSON_INCLUDE_DIR nlohmann/json.hpp HINTS ${TORCH_INCLUDE_DIRS} REQUIRED)
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  target_include_directories(nlohmann_json::nlohmann_json SYSTEM INTERFACE ${NLOHMANN_JSON_INCLUDE_DIR})
endif()
find_package(CLI11 QUIET)
if(NOT TARGET CLI11::CLI11)
  find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  target_include_directories(CLI11::CLI11 SYSTEM INTERFACE ${CLI11_INCLUDE_DIR})
endif()

# OpenCV decodes image files. Optional: without it the engine still runs on tensors.
# Debian splits OpenCV into per-module -dev packages without the CMake config, so fall back
# to finding the three modules directly.
find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs)
if(OpenCV_FOUND)
  add_library(msnlens_opencv INTERFACE)
  target_include_directories(msnlens_opencv SYSTEM INTERFACE ${OpenCV_INCLUDE_DIRS})
  target_link_libraries(msnlens_opencv INTERFACE ${OpenCV_LIBS})
else()
  find_path(OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4)
  find_library(OPENCV_CORE_LIB opencv_core)
  find_library(OPENCV_IMGPROC_LIB opencv_imgproc)
  find_library(OPENCV_IMGCODECS_LIB opencv_imgcodecs)
  if(OPENCV_INCLUDE_DIR AND OPENCV_CORE_LIB AND OPENCV_IMGPROC_LIB AND OPENCV_IMGCODECS_LIB)
    add_library(msnlens_opencv INTERFACE)
    target_include_directories(msnlens_opencv SYSTEM INTERFACE ${OPENCV_INCLUDE_DIR})
    target_link_libraries(msnlens_opencv INTERFACE ${OPENCV_IMGCODECS_LIB} ${OPENCV_IMGPROC_LIB} ${OPENCV_CORE_LIB})
  endif()
endif()
if(NOT TARGET msnlens_opencv)
  message(STATUS "OpenCV not found: building without image decoding (msnlens_imageio)")
endif()

# Qt 6 for the desktop app and the tests (Qt Test). Optional for engine-only builds.
find_package(Qt6 QUIET COMPONENTS Core Gui Widgets Test Charts Concurrent Svg)
if(NOT Qt6_FOUND)
  message(STATUS "Qt 6 (with Charts and Svg) not found: building the engine and CLI only")
endif()
