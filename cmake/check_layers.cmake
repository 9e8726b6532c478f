# Fails when a file includes a header of a layer it may not use, and writes STAMP otherwise.
# Run at build time by CMakeLists.txt (cmake -P) before any library is compiled.
#   cmake -DROOT=<repository> -DSTAMP=<file> -P cmake/check_layers.cmake
cmake_minimum_required(VERSION 3.25)

# The layers and what each may include (docs/architecture.md): arrows point down only.
set(allowed_core core)
set(allowed_input core input)
set(allowed_teach core teach)
set(allowed_render core render)
set(allowed_cli core input teach render cli)

set(problems "")
foreach(layer IN ITEMS core input teach render cli)
  file(GLOB_RECURSE files ${ROOT}/src/${layer}/*.cpp ${ROOT}/src/${layer}/*.hpp
       ${ROOT}/include/attn_trace/${layer}/*.hpp)
  foreach(path IN LISTS files)
    file(STRINGS ${path} includes REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]")
    file(RELATIVE_PATH shown ${ROOT} ${path})
    foreach(line IN LISTS includes)
      if(line MATCHES "attn_trace/([a-z_]+)/")
        set(target ${CMAKE_MATCH_1})
        if(NOT target IN_LIST allowed_${layer})
          string(APPEND problems "  ${shown}: ${line}\n    (${layer} may include only: ${allowed_${layer}})\n")
        endif()
      elseif(line MATCHES "attn_trace/[a-z_]+\\.hpp")
        string(APPEND problems "  ${shown}: ${line}\n    (every public header is in a layer's folder: attn_trace/LAYER/NAME.hpp)\n")
      elseif(line MATCHES "\"\\.\\./")
        string(APPEND problems "  ${shown}: ${line}\n    (a private header sits beside its sources; another layer's code is reached through its public headers)\n")
      endif()
    endforeach()
  endforeach()
endforeach()

if(problems)
  message(FATAL_ERROR "attn-trace's layers: an include points up or across (docs/architecture.md):\n${problems}")
endif()
file(WRITE ${STAMP} "ok\n")
