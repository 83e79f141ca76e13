#===- runtime/CrossRuntime.cmake - The runtime built for other targets ----===#
#
# nibblec links executables for AArch64 against an AArch64 build of the
# runtime. This builds lib/aarch64/libnibble_runtime.a,
# lib/aarch64/libnibble_model_main.a and bin/aarch64/nibble-run-lib with the
# Debian cross compiler when it is installed (scripts/setup.sh installs it).
#
#===----------------------------------------------------------------------===#

# Compiles `sources` with the cross compiler of `prefix` (e.g.
# aarch64-linux-gnu) into objects under <subdir>/<name>/; their paths go to
# the variable named `objects_var`. Sets CROSS_CXX/CROSS_AR in the caller, or
# leaves `objects_var` empty when the cross tools are missing.
function(nibble_compile_cross objects_var prefix subdir name)
  set(sources ${ARGN})
  find_program(CROSS_CXX ${prefix}-g++)
  find_program(CROSS_AR ${prefix}-ar)
  set(objects)
  if(CROSS_CXX AND CROSS_AR)
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
  else()
    message(STATUS "nibble: no ${prefix}-g++; no ${subdir} build of ${name}")
  endif()
  set(${objects_var} ${objects} PARENT_SCOPE)
  set(CROSS_CXX ${CROSS_CXX} PARENT_SCOPE)
  set(CROSS_AR ${CROSS_AR} PARENT_SCOPE)
endfunction()

# Builds static archive `name` for a cross `prefix` from `sources` into
# ${CMAKE_BINARY_DIR}/lib/<subdir>/, as part of target `target`.
function(nibble_add_cross_archive target prefix subdir name)
  nibble_compile_cross(objects ${prefix} ${subdir} ${name} ${ARGN})
  if(NOT objects)
    return()
  endif()
  set(out_dir ${CMAKE_BINARY_DIR}/lib/${subdir})
  add_custom_command(
    OUTPUT ${out_dir}/lib${name}.a
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${CMAKE_COMMAND} -E remove -f ${out_dir}/lib${name}.a
    COMMAND ${CROSS_AR} rcs ${out_dir}/lib${name}.a ${objects}
    DEPENDS ${objects}
    COMMENT "Archiving lib${name}.a for ${prefix}")
  add_custom_target(${target} ALL DEPENDS ${out_dir}/lib${name}.a)
endfunction()

# Builds executable `name` for a cross `prefix` from `sources`, linked with
# that target's lib/<subdir>/libnibble_runtime.a, into
# ${CMAKE_BINARY_DIR}/bin/<subdir>/, as part of target `target`.
function(nibble_add_cross_executable target prefix subdir name)
  nibble_compile_cross(objects ${prefix} ${subdir} ${name} ${ARGN})
  if(NOT objects OR NOT TARGET nibble_runtime_${subdir})
    return()
  endif()
  set(runtime ${CMAKE_BINARY_DIR}/lib/${subdir}/libnibble_runtime.a)
  set(out ${CMAKE_BINARY_DIR}/bin/${subdir}/${name})
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/bin/${subdir}
    COMMAND ${CROSS_CXX} ${objects} ${runtime} -ldl -lpthread -o ${out}
    DEPENDS ${objects} ${runtime}
    COMMENT "Linking ${name} for ${prefix}")
  add_custom_target(${target} ALL DEPENDS ${out})
  add_dependencies(${target} nibble_runtime_${subdir})
endfunction()
