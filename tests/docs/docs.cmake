# Tests of the documentation's samples: what README.md and docs/ show is what the binary prints.
# Included from tests/CMakeLists.txt.

# Every ```console sample of README.md and docs/cli.md ("$ attn-trace ARGS…" and what it prints)
# is the real output of those ARGS; a page with no sample fails (tools/update-doc-samples.sh
# rewrites them after an intended change). docs/tutorials/ is checked the same way by
# docs.tutorials (tests/CMakeLists.txt).
add_test(NAME docs.readme_samples
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/docs/check_samples.sh $<TARGET_FILE:attn-trace>
                 ${PROJECT_SOURCE_DIR}/README.md)
add_test(NAME docs.teaching_samples
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/docs/check_samples.sh $<TARGET_FILE:attn-trace>
                 ${PROJECT_SOURCE_DIR}/docs/teaching.md)
add_test(NAME docs.latex_samples
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/docs/check_samples.sh $<TARGET_FILE:attn-trace>
                 ${PROJECT_SOURCE_DIR}/docs/latex.md)
add_test(NAME docs.cli_samples
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/docs/check_samples.sh $<TARGET_FILE:attn-trace>
                 ${PROJECT_SOURCE_DIR}/docs/cli.md)

# docs/your-own-model.md: every snippet run as a reader would, in an empty folder, with the output
# the page shows (tests/docs/your_own_model.py); the Hugging Face section (safetensors, .npy input,
# --tokens) in a test of its own, with a stand-in for transformers (tests/docs/stand_in/).
add_test(NAME docs.your_own_model
         COMMAND ${PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/docs/your_own_model.py $<TARGET_FILE:attn-trace>
                 ${PROJECT_SOURCE_DIR}/docs/your-own-model.md)
add_test(NAME docs.your_own_model_huggingface
         COMMAND ${PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/docs/your_own_model.py $<TARGET_FILE:attn-trace>
                 ${PROJECT_SOURCE_DIR}/docs/your-own-model.md huggingface)

# docs/check.md: its samples are real output (check's exit status 3 included); the reports of
# real runs validate against docs/check.schema.json, each mistake file of docs/check/ is found
# as its own id (tests/docs/check_schema.py); the teacher's grade.py grades a right and a wrong
# student (tests/docs/check_grade.sh).
add_test(NAME docs.check_samples
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/docs/check_samples.sh $<TARGET_FILE:attn-trace>
                 ${PROJECT_SOURCE_DIR}/docs/check.md)
add_test(NAME docs.check_schema
         COMMAND ${PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/docs/check_schema.py $<TARGET_FILE:attn-trace>
                 ${PROJECT_SOURCE_DIR}/docs/check.schema.json)
add_test(NAME docs.check_grade
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/docs/check_grade.sh $<TARGET_FILE:attn-trace>)

# Every relative link and image of README.md, docs/, tests/README.md and bench/README.md points to
# a file that exists, and a #fragment to one of its headings.
add_test(NAME docs.links COMMAND ${PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/docs/check_links.py
                                 ${PROJECT_SOURCE_DIR})
