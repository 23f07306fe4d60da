// The reference the environment benchmark compares against: a plain C++ loop over the same
// libale that AtariArena links, doing what `arena bench env` does through Swift: one emulator
// frame per act (frame_skip 1), sticky actions 0.25, uniformly random actions from the minimal
// set, reset on game over. Prints one JSON object.
//
//   ale-reference-bench ROM_PATH FRAMES SEED
#include <ale/ale_interface.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: ale-reference-bench ROM_PATH FRAMES SEED\n");
    return 2;
  }
  try {
    ale::Logger::setMode(ale::Logger::Error);
    const char *rom = argv[1];
    long frames = std::atol(argv[2]);
    uint64_t state = std::strtoull(argv[3], nullptr, 10) * 0x9E3779B97F4A7C15ULL + 1;
    if (!ale::ALEInterface::isSupportedROM(rom)) {
      std::fprintf(stderr, "not a supported ROM: %s\n", rom);
      return 1;
    }
    ale::ALEInterface ale;
    ale.setInt("random_seed", 123);
    ale.setFloat("repeat_action_probability", 0.25f);
    ale.setInt("frame_skip", 1);
    ale.loadROM(rom);
    ale::ActionVect actions = ale.getMinimalActionSet();
    const uint64_t n = actions.size();
    long total_reward = 0;
    auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < frames; ++i) {
      state ^= state << 13; state ^= state >> 7; state ^= state << 17;  // xorshift64
      total_reward += ale.act(actions[state % n]);
      if (ale.game_over(false)) ale.reset_game();
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("{\"frames\": %ld, \"seconds\": %.6f, \"frames_per_s\": %.1f, \"total_reward\": %ld}\n",
                frames, seconds, frames / seconds, total_reward);
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
