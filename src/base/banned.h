/* banned.h — functions kswarm never calls (after git's banned.h).
 * Included last by every .c through base/common.h; a use becomes a compile error.
 * Why: unbounded copies (strcpy, strcat, sprintf, vsprintf), hidden state (strtok,
 * gmtime, localtime, ctime, asctime) — use snprintf, ks_buf, strtok_r, gmtime_r. */
#ifndef KS_BANNED_H
#define KS_BANNED_H

#define KS_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) KS_BANNED(strcpy)
#undef strcat
#define strcat(x, y) KS_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) KS_BANNED(strncpy)
#undef sprintf
#define sprintf(...) KS_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) KS_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) KS_BANNED(strtok)
#undef gmtime
#define gmtime(t) KS_BANNED(gmtime)
#undef localtime
#define localtime(t) KS_BANNED(localtime)
#undef ctime
#define ctime(t) KS_BANNED(ctime)
#undef asctime
#define asctime(t) KS_BANNED(asctime)

#endif
