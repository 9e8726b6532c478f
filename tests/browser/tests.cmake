# run --format html in a real browser: each *.test.mjs opens pages the binary writes, from file://,
# in Debian's Chromium (/usr/bin/chromium) driven by puppeteer-core (pinned in package.json and
# package-lock.json; tools/test.sh runs `npm ci --prefix tests/browser`). A test fails, never
# skips, when node, Chromium or puppeteer-core is missing, and says what to run.
set(BROWSER ${CMAKE_CURRENT_SOURCE_DIR}/browser)
find_program(NODE node PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT NODE)
  find_program(NODE node)
endif()
function(browser_test name)
  if(NODE)
    add_test(NAME browser.${name}
             COMMAND ${NODE} ${BROWSER}/${name}.test.mjs $<TARGET_FILE:attn-trace> ${PROJECT_SOURCE_DIR})
  else()
    add_test(NAME browser.${name}
             COMMAND sh -c "echo 'node is missing: run tools/test.sh, which installs nodejs and npm and runs npm ci in tests/browser' >&2; exit 1")
  endif()
  # One Chromium at a time: it takes both cores while it lays a page out.
  set_tests_properties(browser.${name} PROPERTIES TIMEOUT 180 RESOURCE_LOCK chromium)
endfunction()
browser_test(navigation)   # the keys, the buttons and the stage list move aria-current="step"
browser_test(explain)      # a click shows explain's arithmetic; its result is the traced number
browser_test(focus)        # the head and query selectors cut the tables; --focus pages
browser_test(escaping)     # hostile tokens, names and sources show as text; nothing runs
browser_test(offline)      # nothing but the page is requested; its CSP stops injected scripts
browser_test(print)        # the print stylesheet: every stage, no controls; a PDF; without script
browser_test(theme)        # light and dark themes; every shaded number legible
browser_test(limit)        # above the explanation limit the page says why and what to do
browser_test(bert)         # the BERT-base-sized page opens in under 3 s
# Without puppeteer-core (no `npm ci`), a test fails with the command to run.
add_test(NAME browser.missing_puppeteer
         COMMAND bash ${BROWSER}/check_missing_puppeteer.sh ${BROWSER})
