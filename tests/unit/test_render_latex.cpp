// Tests of render_latex (filled in with the renderer).
#include <catch2/catch.hpp>
