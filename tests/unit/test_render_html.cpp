// Tests of render_html (filled in with the renderer).
#include <catch2/catch.hpp>
