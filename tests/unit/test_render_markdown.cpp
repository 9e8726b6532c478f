// Tests of render_markdown (filled in with the renderer).
#include <catch2/catch.hpp>
