# Tests of the documentation's samples: what README.md and docs/ show is what the binary prints.
# Included from tests/CMakeLists.txt.

# Every ```console sample of README.md and docs/cli.md ("$ attn-trace ARGS…" and what it prints)
# is the real output of those ARGS; a page with no sample fails (tools/update-doc-samples.sh
# rewrites them after an intended change). docs/tutorials/ is checked the same way by
# docs.tutorials (tests/CMakeLists.txt).
add_test(NAME docs.readme_samples
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/docs/check_samples.sh $<TARGET_FILE:attn-trace>
                 ${PROJECT_SOURCE_DIR}/README.md)
add_test(NAME docs.cli_samples
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/docs/check_samples.sh $<TARGET_FILE:attn-trace>
                 ${PROJECT_SOURCE_DIR}/docs/cli.md)

# docs/your-own-model.md: every snippet run as a reader would, in an empty folder, with the output
# the page shows (tests/docs/your_own_model.py). The Hugging Face section documents flags that may
# not be in this binary yet (--tokens, safetensors and .npy input): its test reports Skipped
# (exit 77) while the binary refuses them as unknown, and runs once they are there.
add_test(NAME docs.your_own_model
         COMMAND ${PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/docs/your_own_model.py $<TARGET_FILE:attn-trace>
                 ${PROJECT_SOURCE_DIR}/docs/your-own-model.md)
add_test(NAME docs.your_own_model_huggingface
         COMMAND ${PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/docs/your_own_model.py $<TARGET_FILE:attn-trace>
                 ${PROJECT_SOURCE_DIR}/docs/your-own-model.md huggingface)
set_tests_properties(docs.your_own_model_huggingface PROPERTIES SKIP_RETURN_CODE 77)
