# Tests of --format browser (filled in with the renderer).
