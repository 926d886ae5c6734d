/* options.c: run-time options (floor 3, see README.md). One table, one row per option: the single source of
 * truth for the environment lookup, the verbose listing and the README's table.
 * Reading them allocates nothing (it walks `environ` itself). */
#include <stdlib.h>
#include <strings.h>

#include "internal.h"

extern char** environ;

#define SA_ENV_PREFIX "SHARDALLOC_"
/* The largest value an option takes (2^53 bytes is far beyond any machine). */
#define SA_OPTION_MAX ((unsigned long long)1 << 53)

typedef enum option_kind_e { KIND_BOOL, KIND_LONG, KIND_SIZE } option_kind_t;

typedef struct option_desc_s {
  long value;
  long default_value;
  option_kind_t kind;
  const char* name;
  const char* description;
} option_desc_t;

/* Remote frees gathered per push: enough to cut the atomics 30-fold, few enough
 * that a thread that goes quiet holds back little. */
#define SA_REMOTE_BATCH_DEFAULT 32

/* Defaults and what each is for. The order must follow sa_option_t (checked below). */
static option_desc_t options[_sa_option_count] = {
  [sa_option_verbose] = {0, 0, KIND_BOOL, "verbose", "print every option and its value at start"},
  [sa_option_show_errors] = {SA_CHECKED, SA_CHECKED, KIND_BOOL, "show_errors", "print detected misuse and OS failures on stderr"},
  [sa_option_show_stats] = {0, 0, KIND_BOOL, "show_stats", "print statistics on stderr at exit"},
  [sa_option_purge_delay] = {10, 10, KIND_LONG, "purge_delay", "ms before freed memory goes back to the OS (0: at once, -1: never)"},
  [sa_option_purge_decommits] = {1, 1, KIND_BOOL, "purge_decommits", "purge with MADV_DONTNEED (RSS drops at once; 0: MADV_FREE)"},
  [sa_option_eager_commit] = {1, 1, KIND_BOOL, "eager_commit", "map segments read-write up front (Linux commits lazily anyway)"},
  [sa_option_allow_large_os_pages] = {0, 0, KIND_BOOL, "allow_large_os_pages", "back segments with 2 MiB huge OS pages where possible"},
  [sa_option_reserve_huge_os_pages] = {0, 0, KIND_LONG, "reserve_huge_os_pages", "1 GiB huge OS pages to reserve at start"},
  [sa_option_reserve_os_memory] = {0, 0, KIND_SIZE, "reserve_os_memory", "address space to reserve at start"},
  [sa_option_allow_thp] = {1, 1, KIND_BOOL, "allow_thp", "let the kernel use transparent huge pages for our memory"},
  [sa_option_max_segment_reclaim] = {8, 8, KIND_LONG, "max_segment_reclaim", "abandoned segments a thread looks at for a page it needs (at most 64)"},
  [sa_option_generic_collect] = {10000, 10000, KIND_LONG, "generic_collect", "slow-path calls between heap collections"},
  [sa_option_destroy_on_exit] = {0, 0, KIND_BOOL, "destroy_on_exit", "release all memory at process exit"},
  [sa_option_limit_os_alloc] = {0, 0, KIND_BOOL, "limit_os_alloc", "allocate only from reserved memory"},
  [sa_option_segment_cache] = {4, 4, KIND_LONG, "segment_cache", "empty segments a thread keeps for reuse"},
  [sa_option_large_cache] = {128 << 20, 128 << 20, KIND_SIZE, "large_cache", "bytes of freed huge blocks kept for reuse"},
  [sa_option_abort_on_error] = {SA_CHECKED, SA_CHECKED, KIND_BOOL, "abort_on_error", "abort on detected misuse or corruption"},
  [sa_option_fail_os_after] = {0, 0, KIND_LONG, "fail_os_after", "testing: the n-th OS memory request fails (0: never)"},
  [sa_option_remote_batch] = {SA_REMOTE_BATCH_DEFAULT, SA_REMOTE_BATCH_DEFAULT, KIND_LONG, "remote_batch",
                              "frees into another thread's page gathered before one push (0/1: none)"},
};

/* Copies of the options the slow paths read often (the error policy's two are
 * base.c's: sa_error reads them). */
long sa_opt_purge_delay_ms = 10;
long sa_opt_segment_cache = 4;
long sa_opt_remote_batch = SA_REMOTE_BATCH_DEFAULT;

static void refresh_cached(void) {
  sa_opt_purge_delay_ms = options[sa_option_purge_delay].value;
  sa_opt_segment_cache = options[sa_option_segment_cache].value;
  sa_opt_abort_on_error = options[sa_option_abort_on_error].value;
  sa_opt_show_errors = options[sa_option_show_errors].value;
  sa_opt_remote_batch = options[sa_option_remote_batch].value;
  if (options[sa_option_generic_collect].value <= 0) options[sa_option_generic_collect].value = 1;
}

sa_decl_export long sa_option_get(sa_option_t option) {
  if ((unsigned)option >= _sa_option_count) return 0;
  return options[option].value;
}

sa_decl_export void sa_option_set(sa_option_t option, long value) {
  if ((unsigned)option >= _sa_option_count) return;
  options[option].value = value;
  refresh_cached();
  if (option == sa_option_fail_os_after) sa_debug_fail_os_after(value);
}

sa_decl_export void sa_option_enable(sa_option_t option) { sa_option_set(option, 1); }
sa_decl_export void sa_option_disable(sa_option_t option) { sa_option_set(option, 0); }
sa_decl_export bool sa_option_is_enabled(sa_option_t option) { return sa_option_get(option) != 0; }

sa_decl_export const char* sa_option_name(sa_option_t option) {
  if ((unsigned)option >= _sa_option_count) return NULL;
  return options[option].name;
}

/* ---- parsing ---------------------------------------------------------------------- */

static bool parse_bool(const char* s, long* out) {
  static const char* const yes[] = {"1", "true", "yes", "on"};
  static const char* const no[] = {"0", "false", "no", "off"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0) return *out = 1, true;
    if (strcasecmp(s, no[i]) == 0) return *out = 0, true;
  }
  return false;
}

/* A decimal integer with an optional K/M/G suffix (sizes only). */
static bool parse_number(const char* s, bool allow_suffix, long* out) {
  bool negative = *s == '-';
  if (negative && allow_suffix) return false; /* sizes are never negative */
  if (negative) s++;
  if (*s < '0' || *s > '9') return false;
  unsigned long long n = 0;
  for (; *s >= '0' && *s <= '9'; s++) {
    n = n * 10 + (unsigned)(*s - '0');
    if (n > SA_OPTION_MAX) return false;
  }
  if (allow_suffix && *s != 0) {
    int shift = 0;
    switch (*s | 0x20) {
      case 'k': shift = 10; break;
      case 'm': shift = 20; break;
      case 'g': shift = 30; break;
      default: return false;
    }
    s++;
    if ((*s | 0x20) == 'i') s++;
    if ((*s | 0x20) == 'b') s++;
    if (n > (SA_OPTION_MAX >> shift)) return false; /* would not fit */
    n <<= shift;
  }
  if (*s != 0 || n > SA_OPTION_MAX) return false;
  *out = negative ? -(long)n : (long)n;
  return true;
}

static bool parse_value(const option_desc_t* desc, const char* text, long* out) {
  if (desc->kind == KIND_BOOL) return parse_bool(text, out);
  return parse_number(text, desc->kind == KIND_SIZE, out);
}

/* Compares an environment entry's name (up to '=') with a name, case-insensitively. */
static bool name_matches(const char* entry, size_t len, const char* name) {
  return strlen(name) == len && strncasecmp(entry, name, len) == 0;
}

static void warn_unknown(const char* entry, size_t len) {
  char names[1024];
  size_t at = 0;
  for (int i = 0; i < _sa_option_count && at + 32 < sizeof(names); i++) {
    size_t n = strlen(options[i].name);
    if (i > 0) names[at++] = ' ';
    memcpy(names + at, options[i].name, n);
    at += n;
  }
  names[at] = 0;
  sa_warning("unknown option %s%.*s ignored; valid options: %s", SA_ENV_PREFIX, (int)len, entry, names);
}

static void print_options(void) {
  for (int i = 0; i < _sa_option_count; i++) {
    sa_message("option %-22s = %-10ld %s", options[i].name, options[i].value, options[i].description);
  }
}

void sa_options_init(void) {
  size_t prefix_len = strlen(SA_ENV_PREFIX);
  for (char** env = environ; env != NULL && *env != NULL; env++) {
    const char* entry = *env;
    if (strncasecmp(entry, SA_ENV_PREFIX, prefix_len) != 0) continue;
    const char* name = entry + prefix_len;
    const char* eq = strchr(name, '=');
    if (eq == NULL) continue;
    size_t len = (size_t)(eq - name);
    int found = -1;
    for (int i = 0; i < _sa_option_count; i++) {
      if (name_matches(name, len, options[i].name)) found = i;
    }
    if (found < 0) {
      warn_unknown(name, len);
      continue;
    }
    long value;
    if (!parse_value(&options[found], eq + 1, &value)) {
      sa_warning("%.*s has an invalid value '%s' (expected %s); keeping %ld", (int)(eq - entry), entry, eq + 1,
                 options[found].kind == KIND_BOOL ? "1/0/true/false/yes/no/on/off"
                 : options[found].kind == KIND_SIZE ? "a size such as 512K, 64M or 1G"
                                                    : "an integer",
                 options[found].value);
      continue;
    }
    options[found].value = value;
  }
  refresh_cached();
  if (options[sa_option_fail_os_after].value > 0) sa_debug_fail_os_after(options[sa_option_fail_os_after].value);
  if (options[sa_option_verbose].value) print_options();
}
