# Finds OpenBLAS with its CBLAS header and defines the imported target mlbench::openblas.
# Debian ships an OpenBLAS CMake config; Ubuntu and others may ship only pkg-config files.
find_package(OpenBLAS CONFIG QUIET)
if(OpenBLAS_FOUND AND OpenBLAS_LIBRARIES)
  set(_mlbench_openblas_lib ${OpenBLAS_LIBRARIES})
  set(_mlbench_openblas_inc ${OpenBLAS_INCLUDE_DIRS})
else()
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(PC_OPENBLAS QUIET openblas)
  endif()
  find_library(_mlbench_openblas_lib NAMES openblas HINTS ${PC_OPENBLAS_LIBRARY_DIRS})
  find_path(_mlbench_openblas_inc NAMES cblas.h
            HINTS ${PC_OPENBLAS_INCLUDE_DIRS}
            PATH_SUFFIXES openblas x86_64-linux-gnu/openblas-pthread x86_64-linux-gnu)
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(MlbenchOpenBLAS REQUIRED_VARS _mlbench_openblas_lib _mlbench_openblas_inc)
if(MlbenchOpenBLAS_FOUND AND NOT TARGET mlbench::openblas)
  add_library(mlbench::openblas UNKNOWN IMPORTED)
  list(GET _mlbench_openblas_lib 0 _first_lib)
  list(GET _mlbench_openblas_inc 0 _first_inc)
  set_target_properties(mlbench::openblas PROPERTIES IMPORTED_LOCATION "${_first_lib}"
                        INTERFACE_INCLUDE_DIRECTORIES "${_first_inc}")
endif()
