#===- runtime/CrossRuntime.cmake - The runtime built for other targets ----===#
#
# nibblec links executables for AArch64 against an AArch64 build of the
# runtime. This builds lib/aarch64/libnibble_runtime.a and
# lib/aarch64/libnibble_model_main.a with the Debian cross compiler when it is
# installed (scripts/setup.sh installs it).
#
#===----------------------------------------------------------------------===#

# Builds static archive `name` for a cross `prefix` (e.g. aarch64-linux-gnu)
# from `sources` into ${CMAKE_BINARY_DIR}/lib/<subdir>/, as part of target
# `target`.
function(nibble_add_cross_archive target prefix subdir name)
  set(sources ${ARGN})
  find_program(CROSS_CXX ${prefix}-g++)
  find_program(CROSS_AR ${prefix}-ar)
  if(NOT CROSS_CXX OR NOT CROSS_AR)
    message(STATUS "nibble: no ${prefix}-g++; no ${subdir} runtime")
    return()
  endif()
  set(out_dir ${CMAKE_BINARY_DIR}/lib/${subdir})
  set(objects)
  foreach(source ${sources})
    get_filename_component(stem ${source} NAME_WE)
    set(object ${CMAKE_CURRENT_BINARY_DIR}/${subdir}/${name}/${stem}.o)
    add_custom_command(
      OUTPUT ${object}
      COMMAND ${CMAKE_COMMAND} -E make_directory
              ${CMAKE_CURRENT_BINARY_DIR}/${subdir}/${name}
      COMMAND ${CROSS_CXX} -O2 -fPIC -std=c++17 -fno-exceptions
              -I${PROJECT_SOURCE_DIR} -MD -MF ${object}.d -c
              ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${object}
      DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${source}
      # The compiler's dependency file: rebuilt when a header changes.
      DEPFILE ${object}.d
      COMMENT "Compiling ${source} for ${prefix}")
    list(APPEND objects ${object})
  endforeach()
  add_custom_command(
    OUTPUT ${out_dir}/lib${name}.a
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${CMAKE_COMMAND} -E remove -f ${out_dir}/lib${name}.a
    COMMAND ${CROSS_AR} rcs ${out_dir}/lib${name}.a ${objects}
    DEPENDS ${objects}
    COMMENT "Archiving lib${name}.a for ${prefix}")
  add_custom_target(${target} ALL DEPENDS ${out_dir}/lib${name}.a)
endfunction()
