// C shim over ale::ALEInterface. See include/CALE.h for the contract.
#include "CALE.h"

#include <ale/ale_interface.hpp>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <string>

struct cale_env {
  ale::ALEInterface ale;
  bool loaded = false;
};

namespace {

void put(char *dst, size_t len, const std::string &msg) {
  if (dst == nullptr || len == 0) return;
  size_t n = msg.size() < len - 1 ? msg.size() : len - 1;
  std::memcpy(dst, msg.data(), n);
  dst[n] = '\0';
}

// Runs `body`, turning any C++ exception into -1 and a message.
template <typename F> int guarded(char *err, size_t err_len, F &&body) {
  try {
    return body();
  } catch (const std::exception &e) {
    std::string m = e.what();
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    put(err, err_len, m);
  } catch (...) {
    put(err, err_len, "unknown C++ exception inside ALE");
  }
  return -1;
}

void quiet_logger_once() {
  static std::once_flag once;
  std::call_once(once, [] { ale::Logger::setMode(ale::Logger::Error); });
}

template <typename V> int copy_out(const V &v, int *out, int cap) {
  int n = static_cast<int>(v.size());
  for (int i = 0; i < n && i < cap; ++i) out[i] = static_cast<int>(v[i]);
  return n;
}

bool require_loaded(const cale_env *env, char *err, size_t err_len) {
  if (!env->loaded) put(err, err_len, "no ROM is loaded");
  return env->loaded;
}

}  // namespace

extern "C" {

const char *cale_ale_version(void) { return ALE_VERSION; }

cale_env *cale_create(char *err, size_t err_len) {
  quiet_logger_once();
  try {
    return new cale_env();
  } catch (const std::exception &e) {
    put(err, err_len, e.what());
  } catch (...) {
    put(err, err_len, "unknown C++ exception creating the ALE interface");
  }
  return nullptr;
}

void cale_destroy(cale_env *env) { delete env; }

int cale_rom_supported(const char *path, char *id_out, size_t id_len, char *err, size_t err_len) {
  quiet_logger_once();
  return guarded(err, err_len, [&]() -> int {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      put(err, err_len, "no such file");
      return -1;
    }
    auto id = ale::ALEInterface::isSupportedROM(path);
    if (!id) return 0;
    put(id_out, id_len, *id);
    return 1;
  });
}

int cale_set_int(cale_env *env, const char *key, int value, char *err, size_t err_len) {
  return guarded(err, err_len, [&] { env->ale.setInt(key, value); return 0; });
}
int cale_set_float(cale_env *env, const char *key, float value, char *err, size_t err_len) {
  return guarded(err, err_len, [&] { env->ale.setFloat(key, value); return 0; });
}
int cale_set_bool(cale_env *env, const char *key, int value, char *err, size_t err_len) {
  return guarded(err, err_len, [&] { env->ale.setBool(key, value != 0); return 0; });
}

int cale_load_rom(cale_env *env, const char *path, char *err, size_t err_len) {
  return guarded(err, err_len, [&]() -> int {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      put(err, err_len, std::string("ROM file not found: ") + path);
      return -1;
    }
    // ALE exits the process on a ROM it cannot wrap: check first.
    if (!ale::ALEInterface::isSupportedROM(path)) {
      put(err, err_len, std::string("not a ROM supported by ALE (unknown MD5): ") + path);
      return -1;
    }
    env->ale.loadROM(path);
    env->loaded = true;
    return 0;
  });
}

int cale_act(cale_env *env, int action, float paddle_strength, int *reward_out, char *err, size_t err_len) {
  if (!require_loaded(env, err, err_len)) return -1;
  // ALE exits on an action outside 0..17: check first.
  if (action < 0 || action >= PLAYER_A_MAX) {
    put(err, err_len, "action " + std::to_string(action) + " is not an ALE action id (0..17)");
    return -1;
  }
  return guarded(err, err_len, [&] {
    *reward_out = env->ale.act(static_cast<ale::Action>(action), paddle_strength);
    return 0;
  });
}

int cale_reset_game(cale_env *env, char *err, size_t err_len) {
  if (!require_loaded(env, err, err_len)) return -1;
  return guarded(err, err_len, [&] { env->ale.reset_game(); return 0; });
}

int cale_game_over(const cale_env *env) { return env->ale.game_over(false) ? 1 : 0; }
int cale_game_truncated(const cale_env *env) { return env->ale.game_truncated() ? 1 : 0; }
int cale_lives(cale_env *env) { return env->ale.lives(); }
int cale_frame_number(const cale_env *env) { return env->ale.getFrameNumber(); }
int cale_episode_frame_number(const cale_env *env) { return env->ale.getEpisodeFrameNumber(); }

int cale_minimal_action_set(const cale_env *env, int *out, int cap) {
  return copy_out(env->ale.getMinimalActionSet(), out, cap);
}
int cale_legal_action_set(const cale_env *env, int *out, int cap) {
  return copy_out(env->ale.getLegalActionSet(), out, cap);
}
int cale_available_modes(const cale_env *env, int *out, int cap) {
  return copy_out(env->ale.getAvailableModes(), out, cap);
}
int cale_available_difficulties(const cale_env *env, int *out, int cap) {
  return copy_out(env->ale.getAvailableDifficulties(), out, cap);
}
int cale_set_mode(cale_env *env, int mode, char *err, size_t err_len) {
  if (!require_loaded(env, err, err_len)) return -1;
  return guarded(err, err_len, [&] { env->ale.setMode(static_cast<ale::game_mode_t>(mode)); return 0; });
}
int cale_set_difficulty(cale_env *env, int difficulty, char *err, size_t err_len) {
  if (!require_loaded(env, err, err_len)) return -1;
  return guarded(err, err_len, [&] {
    env->ale.setDifficulty(static_cast<ale::difficulty_t>(difficulty));
    return 0;
  });
}
int cale_mode(const cale_env *env) { return static_cast<int>(env->ale.getMode()); }
int cale_difficulty(const cale_env *env) { return static_cast<int>(env->ale.getDifficulty()); }

int cale_screen_height(const cale_env *env) { return static_cast<int>(env->ale.getScreen().height()); }
int cale_screen_width(const cale_env *env) { return static_cast<int>(env->ale.getScreen().width()); }

void cale_screen_grayscale(const cale_env *env, uint8_t *dst) {
  const ale::ALEScreen &s = env->ale.getScreen();
  env->ale.theOSystem->colourPalette().applyPaletteGrayscale(dst, s.getArray(), s.width() * s.height());
}
void cale_screen_rgb(const cale_env *env, uint8_t *dst) {
  const ale::ALEScreen &s = env->ale.getScreen();
  env->ale.theOSystem->colourPalette().applyPaletteRGB(dst, s.getArray(), s.width() * s.height());
}
void cale_ram(const cale_env *env, uint8_t *dst) {
  const ale::ALERAM &ram = env->ale.getRAM();
  std::memcpy(dst, ram.array(), ram.size());
}

long cale_clone_state(cale_env *env, uint8_t **data_out, char *err, size_t err_len) {
  if (!require_loaded(env, err, err_len)) return -1;
  long result = -1;
  guarded(err, err_len, [&] {
    std::string s = env->ale.cloneState(true).serialize();
    auto *buf = static_cast<uint8_t *>(std::malloc(s.size() ? s.size() : 1));
    if (buf == nullptr) throw std::bad_alloc();
    std::memcpy(buf, s.data(), s.size());
    *data_out = buf;
    result = static_cast<long>(s.size());
    return 0;
  });
  return result;
}

int cale_restore_state(cale_env *env, const uint8_t *data, size_t len, char *err, size_t err_len) {
  if (!require_loaded(env, err, err_len)) return -1;
  return guarded(err, err_len, [&] {
    ale::ALEState state(std::string(reinterpret_cast<const char *>(data), len));
    env->ale.restoreState(state);
    return 0;
  });
}

void cale_free(void *p) { std::free(p); }

}  // extern "C"
