# Tests of the documentation's samples: what README.md and docs/ show is what the binary prints.
# Included from tests/CMakeLists.txt.
