# mlbench_warnings: the warning flags every mlbench target compiles with. The top-level
# CMakeLists links it into every target it and its subdirectories create (link_libraries), so a
# new target gets the flags without asking. Header-only dependencies (fmt, nlohmann_json, CLI11,
# GoogleTest, the CUDA toolkit) come from system or imported include paths, whose warnings the
# compilers do not report: the flags judge mlbench's own code only.
#
# MLBENCH_WERROR turns the warnings into errors (scripts/setup.sh passes $MLBENCH_WERROR on):
# host code (C++ and the host half of CUDA) through -Werror, nvcc's own warnings through
# `-Werror <kind>,...` with every kind nvcc 13 names. Not `-Werror all-warnings`: that also makes
# ptxas's register-spill reports errors, and those are information the kernels ask for
# (-Xptxas=-warn-spills in kernels/CMakeLists.txt): some flash-attention tensor-core plans spill
# a little, and the measurement at prepare picks among them.
option(MLBENCH_WERROR "Treat compiler warnings as errors (gcc/clang -Werror; nvcc -Werror on its warning kinds)" OFF)

add_library(mlbench_warnings INTERFACE)
set(mlbench_host_warning_flags -Wall -Wextra -Wshadow)
list(JOIN mlbench_host_warning_flags "," mlbench_host_warning_list)
target_compile_options(mlbench_warnings INTERFACE
  "$<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU,Clang>>:${mlbench_host_warning_flags}>"
  # CUDA: the host compiler sees nvcc's host half through -Xcompiler; nvcc itself warns about
  # reordered member initializers and about launches on the legacy default stream (every
  # launch names its stream: a default-stream launch would serialize with the timing events).
  "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=${mlbench_host_warning_list};-Wreorder;-Wdefault-stream-launch>")
if(MLBENCH_WERROR)
  target_compile_options(mlbench_warnings INTERFACE
    "$<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU,Clang>>:-Werror>"
    "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Werror;SHELL:-Werror cross-execution-space-call,reorder,deprecated-declarations,default-stream-launch,ext-lambda-captures-this>")
endif()
