# RefscopeTest.cmake - refscope_add_test(): a ctest test that runs a
# command under refscope with the CI leak gate, so `ctest` fails when the
# command leaks.  Use it after find_package(refscope), or straight from a
# refscope source tree:
#
#   set(REFSCOPE_EXECUTABLE /path/to/refscope)   # unless a target exists
#   include(/path/to/refscope/tools/cmake/RefscopeTest.cmake)
#
#   refscope_add_test(NAME <name> COMMAND <program or target> [args...]
#                     [CHECK_OPTIONS <refscope check options>...]
#                     [RUN_OPTIONS <refscope run options>...]
#                     [SUPPRESSIONS <file>...] [BASELINE <file>]
#                     [WORKING_DIRECTORY <dir>])
#
# The test runs `refscope run <RUN_OPTIONS> --check <CHECK_OPTIONS>
# [--suppressions F]... [--baseline B] -- <COMMAND>`: it fails when the
# program fails (its own exit status) or when the gate does (1 for
# findings, 2 for bad input); the gate's report is in the test's output.
# A COMMAND that names a target of the project is replaced by its file.
# The refscope tool is REFSCOPE_EXECUTABLE, else the `refscope` target of
# the same build (refscope's own tests), else the imported
# refscope::refscope of the package.  Tests get the label "refscope".
include_guard(GLOBAL)

function(refscope_add_test)
  cmake_parse_arguments(PARSE_ARGV 0 RS "" "NAME;WORKING_DIRECTORY;BASELINE"
                        "COMMAND;CHECK_OPTIONS;RUN_OPTIONS;SUPPRESSIONS")
  if(NOT RS_NAME OR NOT RS_COMMAND)
    message(FATAL_ERROR "refscope_add_test: NAME and COMMAND are required")
  endif()
  if(RS_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR
            "refscope_add_test: unexpected arguments ${RS_UNPARSED_ARGUMENTS}")
  endif()

  if(REFSCOPE_EXECUTABLE)
    set(tool "${REFSCOPE_EXECUTABLE}")
  elseif(TARGET refscope)
    set(tool "$<TARGET_FILE:refscope>")
  elseif(TARGET refscope::refscope)
    set(tool "$<TARGET_FILE:refscope::refscope>")
  else()
    message(FATAL_ERROR "refscope_add_test: set REFSCOPE_EXECUTABLE or use "
                        "find_package(refscope) first")
  endif()

  list(POP_FRONT RS_COMMAND program)
  if(TARGET "${program}")
    set(program "$<TARGET_FILE:${program}>")
  endif()

  set(check ${RS_CHECK_OPTIONS})
  foreach(file IN LISTS RS_SUPPRESSIONS)
    get_filename_component(file "${file}" ABSOLUTE)
    list(APPEND check --suppressions "${file}")
  endforeach()
  if(RS_BASELINE)
    get_filename_component(base "${RS_BASELINE}" ABSOLUTE)
    list(APPEND check --baseline "${base}")
  endif()

  set(wd "")
  if(RS_WORKING_DIRECTORY)
    set(wd WORKING_DIRECTORY "${RS_WORKING_DIRECTORY}")
  endif()
  add_test(NAME "${RS_NAME}"
           COMMAND "${tool}" run ${RS_RUN_OPTIONS} --check ${check}
                   -- "${program}" ${RS_COMMAND}
           ${wd})
  set_property(TEST "${RS_NAME}" APPEND PROPERTY LABELS refscope)
endfunction()
