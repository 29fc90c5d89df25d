# refscopeConfig.cmake - the CMake package of refscope, found by
# find_package(refscope) after `cmake --install`.  It provides:
#
#   refscope_EXECUTABLE / REFSCOPE_EXECUTABLE   the refscope tool
#   refscope::refscope                          an imported executable
#   refscope_add_test(NAME ... COMMAND ...)      from RefscopeTest.cmake
#
# The installed layout is <prefix>/bin/refscope, <prefix>/<libdir>/
# librefscope.so and this file in <prefix>/<libdir>/cmake/refscope; the
# prefix is found by walking up from here to the directory that holds
# bin/refscope, so the tree can be moved after installation.
set(_rs_dir "${CMAKE_CURRENT_LIST_DIR}")
set(_rs_prefix "")
foreach(_rs_up RANGE 1 5)
  get_filename_component(_rs_dir "${_rs_dir}" DIRECTORY)
  if(EXISTS "${_rs_dir}/bin/refscope")
    set(_rs_prefix "${_rs_dir}")
    break()
  endif()
endforeach()

if(NOT _rs_prefix)
  set(refscope_FOUND FALSE)
  set(refscope_NOT_FOUND_MESSAGE
      "refscope: no bin/refscope above ${CMAKE_CURRENT_LIST_DIR}")
  return()
endif()

set(refscope_EXECUTABLE "${_rs_prefix}/bin/refscope")
if(NOT REFSCOPE_EXECUTABLE)
  set(REFSCOPE_EXECUTABLE "${refscope_EXECUTABLE}")
endif()
if(NOT TARGET refscope::refscope)
  add_executable(refscope::refscope IMPORTED)
  set_target_properties(refscope::refscope PROPERTIES
    IMPORTED_LOCATION "${refscope_EXECUTABLE}")
endif()
include("${CMAKE_CURRENT_LIST_DIR}/RefscopeTest.cmake")
unset(_rs_dir)
unset(_rs_prefix)
unset(_rs_up)
