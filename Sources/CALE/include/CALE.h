// CALE: a small C API over the C++ interface of the Arcade Learning Environment (ALE 0.12.1).
//
// Every function catches C++ exceptions and reports them as a status plus a message written
// into the caller's `err` buffer (always NUL-terminated, truncated to `err_len`). ALE calls
// exit() on a missing or unsupported ROM, on an invalid action and on reading an unknown
// setting; the shim checks those first, so the process never dies inside ALE.
//
// Status convention: 0 = success, -1 = failure with a message in `err`.
#ifndef CALE_H
#define CALE_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct cale_env cale_env;

/// ALE's version string ("0.12.1").
const char *cale_ale_version(void);

/// Creates an emulator with ALE's logger set to errors only (no banner). NULL on failure.
cale_env *cale_create(char *err, size_t err_len);
void cale_destroy(cale_env *env);

/// 1 if `path` is a ROM ALE supports (writes its id into `id_out`), 0 if not, -1 on error
/// (missing or unreadable file).
int cale_rom_supported(const char *path, char *id_out, size_t id_len, char *err, size_t err_len);

/// Settings; take effect at the next cale_load_rom. Unknown keys or wrong types fail.
int cale_set_int(cale_env *env, const char *key, int value, char *err, size_t err_len);
int cale_set_float(cale_env *env, const char *key, float value, char *err, size_t err_len);
int cale_set_bool(cale_env *env, const char *key, int value, char *err, size_t err_len);

/// Loads a ROM (checked with isSupportedROM first) and resets the game.
int cale_load_rom(cale_env *env, const char *path, char *err, size_t err_len);

/// One emulator frame (ALE's frame_skip setting is left at 1). `action` is an ALE action id
/// 0..17; the reward is written to `reward_out`.
int cale_act(cale_env *env, int action, float paddle_strength, int *reward_out, char *err, size_t err_len);
int cale_reset_game(cale_env *env, char *err, size_t err_len);
/// 1 when the game is over (terminal), not counting truncation by max frames.
int cale_game_over(const cale_env *env);
/// 1 when ALE's own max_num_frames_per_episode truncated the episode.
int cale_game_truncated(const cale_env *env);
int cale_lives(cale_env *env);
int cale_frame_number(const cale_env *env);
int cale_episode_frame_number(const cale_env *env);

/// Action sets, modes and difficulties: write up to `cap` ids and return how many there are.
int cale_minimal_action_set(const cale_env *env, int *out, int cap);
int cale_legal_action_set(const cale_env *env, int *out, int cap);
int cale_available_modes(const cale_env *env, int *out, int cap);
int cale_available_difficulties(const cale_env *env, int *out, int cap);
int cale_set_mode(cale_env *env, int mode, char *err, size_t err_len);
int cale_set_difficulty(cale_env *env, int difficulty, char *err, size_t err_len);
int cale_mode(const cale_env *env);
int cale_difficulty(const cale_env *env);

/// Screen size (210 x 160 for every supported game).
int cale_screen_height(const cale_env *env);
int cale_screen_width(const cale_env *env);
/// The current screen through ALE's palette, straight into the caller's buffer
/// (height*width bytes for grayscale, height*width*3 interleaved RGB).
void cale_screen_grayscale(const cale_env *env, uint8_t *dst);
void cale_screen_rgb(const cale_env *env, uint8_t *dst);
/// The 128 bytes of console RAM.
void cale_ram(const cale_env *env, uint8_t *dst);

/// Serialized emulator state including the system and sticky-action random state. The buffer
/// is allocated with malloc and owned by the caller (free with cale_free). Returns its length,
/// or -1 with a message.
long cale_clone_state(cale_env *env, uint8_t **data_out, char *err, size_t err_len);
int cale_restore_state(cale_env *env, const uint8_t *data, size_t len, char *err, size_t err_len);
void cale_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
