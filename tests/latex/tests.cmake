# run --format latex, compiled by pdflatex (no shell escape) and read back with pdftotext
# (tests/latex/check_latex.py): no error, no missing character, nothing wider than the page, every
# stage, token and shown number in the PDF; a fragment put into an article and into beamer slides
# as docs/latex.md says. tools/install-deps.sh --tests installs texlive, lmodern and poppler-utils.
set(LATEX ${CMAKE_CURRENT_SOURCE_DIR}/latex/check_latex.py)
function(latex_test name)
  add_test(NAME latex.${name} COMMAND ${PYTHON3} ${LATEX} $<TARGET_FILE:attn-trace> ${ARGN})
endfunction()
latex_test(default i-am-good)
latex_test(multihead multihead)
latex_test(cross cross)
latex_test(explain karim --precision 2 --explain)
latex_test(masks_batched ${CMAKE_CURRENT_SOURCE_DIR}/json/inputs/masks_batched.json)
latex_test(extra_keys ${CMAKE_CURRENT_SOURCE_DIR}/json/inputs/cross_extra_keys.json)
latex_test(elided ${CMAKE_CURRENT_SOURCE_DIR}/cli/inputs/forty_tokens.json)
latex_test(full ${CMAKE_CURRENT_SOURCE_DIR}/cli/inputs/forty_tokens.json --full --stages scores --precision 8)
latex_test(focus ${CMAKE_CURRENT_SOURCE_DIR}/json/inputs/batched_two_heads.json --focus head=1,query=1)
latex_test(hostile ${CMAKE_CURRENT_SOURCE_DIR}/markdown/hostile.json)
latex_test(fragment_article multihead --latex-fragment --wrap article)
latex_test(fragment_beamer multihead --no-header --latex-fragment --stages scores,softmax --wrap beamer)
# docs/latex.md's beamer deck, made and compiled as the page says.
add_test(NAME latex.docs_beamer
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/latex/check_doc_beamer.sh $<TARGET_FILE:attn-trace>
                 ${PROJECT_SOURCE_DIR}/docs/latex.md)
