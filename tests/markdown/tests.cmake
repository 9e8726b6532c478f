# Tests of --format markdown (filled in with the renderer).
