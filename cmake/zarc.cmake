# One place that gives every zarc target the same warnings, include root and naming.
include(GoogleTest)

function(zarc_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers)
  if(ZARC_SANITIZE)
    # GCC's flow analysis under -fsanitize reports Boost.Beast's optionals as maybe-uninitialized.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
  if(ZARC_SANITIZE MATCHES "thread")
    # GCC 12 warns that ThreadSanitizer does not model std::atomic_thread_fence, which Boost.Asio's
    # handler queues use (third-party code; zarc itself uses no fences).
    target_compile_options(${target} PRIVATE -Wno-tsan)
  endif()
endfunction()

# Binaries of a ThreadSanitizer build carry the Abseil annotations (root CMakeLists.txt).
function(zarc_tsan_annotate target)
  if(ZARC_SANITIZE MATCHES "thread")
    target_link_libraries(${target} PRIVATE zarc_tsan_annotations)
  endif()
endfunction()

# zarc_library(NAME SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...]) -> target zarc_NAME, alias zarc::NAME
function(zarc_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(zarc_${name} STATIC ${ARG_SOURCES})
  add_library(zarc::${name} ALIAS zarc_${name})
  target_include_directories(zarc_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(zarc_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  zarc_warnings(zarc_${name})
endfunction()

# zarc_executable(NAME SOURCES ... DEPS ...) -> build/bin/NAME
function(zarc_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  zarc_warnings(${name})
  zarc_tsan_annotate(${name})
endfunction()

# zarc_test(NAME SOURCES ... DEPS ... [LABELS ...] [TIMEOUT s]): a GoogleTest binary whose tests are
# registered one by one with CTest. Tests run from the build tree with ZARC_SOURCE_DIR and
# ZARC_BINARY_DIR set so they can find fixtures and tools.
function(zarc_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)  # an empty LABELS would swallow the next property name
  endif()
  add_executable(${name} ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  zarc_warnings(${name})
  zarc_tsan_annotate(${name})
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES
      LABELS "${ARG_LABELS}"
      TIMEOUT ${ARG_TIMEOUT}
      ENVIRONMENT "ZARC_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
      ENVIRONMENT_MODIFICATION "ZARC_BINARY_DIR=set:${PROJECT_BINARY_DIR}")
endfunction()

# zarc_fuzz_target(NAME SOURCES ... DEPS ...) -> build/bin/NAME, a libFuzzer binary (-DZARC_FUZZ=ON
# and clang only). Its corpus is the folder fuzz/corpus/<name without the area prefix>/ next to the
# source; the area's *_fuzz_replay_test replays that corpus in every normal test run.
function(zarc_fuzz_target name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  if(NOT ZARC_FUZZ)
    return()
  endif()
  zarc_executable(${name} SOURCES ${ARG_SOURCES} DEPS ${ARG_DEPS})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
endfunction()
