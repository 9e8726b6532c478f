# run --format markdown, read back by cmark-gfm (tests/markdown/check_markdown.py: headings, tables,
# every number against the JSON export, nothing from a token turned into markup) and its formulas
# typeset by pdflatex (check_formulas.sh). tools/install-deps.sh --tests installs cmark-gfm and
# texlive.
set(MD ${CMAKE_CURRENT_SOURCE_DIR}/markdown)
function(markdown_test name)
  add_test(NAME markdown.${name}
           COMMAND ${PYTHON3} ${MD}/check_markdown.py $<TARGET_FILE:attn-trace> ${ARGN})
endfunction()
markdown_test(default i-am-good)
markdown_test(multihead multihead)
markdown_test(cross cross)
markdown_test(precision karim --precision 2)
markdown_test(explain raschka-scaled --explain)
markdown_test(masks_batched ${CMAKE_CURRENT_SOURCE_DIR}/json/inputs/masks_batched.json)
markdown_test(extra_keys ${CMAKE_CURRENT_SOURCE_DIR}/json/inputs/cross_extra_keys.json)
markdown_test(overflow ${CMAKE_CURRENT_SOURCE_DIR}/json/inputs/overflow.json)
markdown_test(elided ${CMAKE_CURRENT_SOURCE_DIR}/cli/inputs/forty_tokens.json)
markdown_test(full ${CMAKE_CURRENT_SOURCE_DIR}/cli/inputs/forty_tokens.json --full)
markdown_test(stages multihead --no-header --stages scores,softmax)
markdown_test(until multihead --until masking)
markdown_test(focus ${CMAKE_CURRENT_SOURCE_DIR}/json/inputs/batched_two_heads.json --focus head=1,query=1)
markdown_test(hostile ${MD}/hostile.json)
add_test(NAME markdown.formulas_compile
         COMMAND bash ${MD}/check_formulas.sh $<TARGET_FILE:attn-trace> ${CMAKE_CURRENT_SOURCE_DIR})
