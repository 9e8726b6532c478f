# Tests of --format latex (filled in with the renderer).
