// Where the BERT-sized JSON export's time goes, phase by phase, and the hand-written JSON parser
// against simdjson's on the same text (bench/json_phases.sh builds and runs it; bench/README.md
// has the figures). Each phase runs RUNS times and the median is printed, in milliseconds:
//   read      the file into a string (read_input_file)
//   parse     text → document (loader::parse_document: the fast parser, nlohmann's document)
//   load      text → Spec (load_spec: parse, read every matrix, free the document)
//   simdjson  text → simdjson's DOM, then every number read out as a double (what the loader would
//             still have to do), when built with -DWITH_SIMDJSON
//   trace     Spec → Trace (trace_attention)
//   render    Trace → JSON text, written to /dev/null (render_json)
//   bench/json_phases INPUT.json [RUNS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "attn_trace/core/tracer.hpp"
#include "attn_trace/input/load.hpp"
#include "attn_trace/render/json.hpp"
#include "json_document.hpp"  // src/input: the loader's parser

#ifdef WITH_SIMDJSON
#include <simdjson.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;

// The CPU time of the whole process (every thread), in milliseconds: on a machine shared with
// other jobs, the wall time says more about them than about us.
double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

// "WALL ms wall, CPU ms CPU": the medians of `runs` timings of `job`.
std::string median_ms(int runs, const std::function<void()>& job) {
  std::vector<double> wall, cpu;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    const double cpu_start = cpu_ms();
    job();
    cpu.push_back(cpu_ms() - cpu_start);
    wall.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  char text[64];
  std::snprintf(text, sizeof text, "%7.1f ms wall %7.1f ms CPU", wall[wall.size() / 2],
                cpu[cpu.size() / 2]);
  return text;
}

#ifdef WITH_SIMDJSON
// Every number under `e`, summed, so that reading them cannot be optimised away.
double sum_numbers(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: {
      double sum = 0;
      for (simdjson::dom::element child : e.get_array()) sum += sum_numbers(child);
      return sum;
    }
    case simdjson::dom::element_type::OBJECT: {
      double sum = 0;
      for (simdjson::dom::key_value_pair field : e.get_object()) sum += sum_numbers(field.value);
      return sum;
    }
    case simdjson::dom::element_type::DOUBLE:
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
      return double(e);
    default:
      return 0;
  }
}
#endif

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: json_phases INPUT.json [RUNS]\n");
    return 2;
  }
  const std::string path = argv[1];
  const int runs = argc > 2 ? std::stoi(argv[2]) : 5;
  using namespace attn_trace;

  std::string text;
  std::printf("read      %s\n", median_ms(runs, [&] { text = read_input_file(path); }).c_str());
  std::printf("parse     %s  (hand-written parser → nlohmann document)\n",
              median_ms(runs, [&] {
                loader::json document =
                    loader::parse_document(text, path, loader::DocumentKind::input);
                loader::dismantle(document);
              }).c_str());
#ifdef WITH_SIMDJSON
  simdjson::dom::parser parser;
  double checksum = 0;
  std::printf("simdjson  %s  (DOM, every number read as a double; %s)\n",
              median_ms(runs,
                        [&] {
                          simdjson::padded_string padded(text);
                          checksum += sum_numbers(parser.parse(padded));
                        })
                  .c_str(),
              simdjson::get_active_implementation()->name().c_str());
  std::printf("simdjson  %s  (DOM only)\n", median_ms(runs, [&] {
                                              simdjson::padded_string padded(text);
                                              checksum += parser.parse(padded).is_object() ? 1 : 0;
                                            }).c_str());
#endif
  Spec spec;
  std::printf("load      %s  (parse, read the matrices, free the document)\n",
              median_ms(runs, [&] { spec = load_spec(text, path); }).c_str());
  std::optional<Trace> trace;
  std::printf("trace     %s\n", median_ms(runs, [&] {
                                  trace.reset();
                                  trace = trace_attention(spec);
                                }).c_str());
  std::printf("render    %s  (JSON to /dev/null)\n", median_ms(runs, [&] {
                                                       std::ofstream out("/dev/null",
                                                                         std::ios::binary);
                                                       render_json(*trace, JsonOptions{}, out);
                                                     }).c_str());
#ifdef WITH_SIMDJSON
  return checksum == 12345.678 ? 1 : 0;
#else
  return 0;
#endif
}
