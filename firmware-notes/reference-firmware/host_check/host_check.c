/* host_check.c - drive tracker_imu_core.h on the host for tests/test_firmware_mirror.py.
 *
 * Not part of the sketch (the Arduino IDE would link its main()). Reads commands on
 * stdin, one per line, and prints what the core produced; tracker/firmware_mirror.py
 * runs the same script and must print the same lines.
 *
 *   mtu N                  set the ATT MTU
 *   cfg HEX                config write        -> "att XX"
 *   cfgread                config read         -> "config HEX"
 *   fifo T_READ N          then N lines "ax ay az gx gy gz": one FIFO read at T_READ µs
 *   radio K                the radio takes up to K data packets and K impulse fragments
 *                                              -> "data HEX" ..., "imp HEX" ...
 *   status CHG MV TEMP T   status value        -> "status HEX"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tracker_imu_xiao/tracker_imu_core.h"

static void print_hex(const char *tag, const uint8_t *p, unsigned n) {
  unsigned i;
  printf("%s ", tag);
  for (i = 0; i < n; i++) printf("%02x", p[i]);
  printf("\n");
}

static unsigned parse_hex(const char *h, uint8_t *out, unsigned cap) {
  unsigned n = 0;
  while (h[0] && h[1] && n < cap) {
    unsigned v;
    if (sscanf(h, "%2x", &v) != 1) break;
    out[n++] = (uint8_t)v;
    h += 2;
  }
  return n;
}

int main(void) {
  static ti_core_t core;
  char line[512], cmd[16], arg[256];
  ti_core_init(&core);
  while (fgets(line, sizeof line, stdin)) {
    arg[0] = 0;
    if (sscanf(line, "%15s %255s", cmd, arg) < 1) continue;
    if (!strcmp(cmd, "mtu")) {
      ti_core_set_mtu(&core, (uint16_t)atoi(arg));
    } else if (!strcmp(cmd, "cfg")) {
      uint8_t v[64];
      unsigned n = parse_hex(arg, v, sizeof v);
      printf("att %02x\n", ti_core_configure(&core, v, (uint16_t)n));
    } else if (!strcmp(cmd, "cfgread")) {
      uint8_t v[TI_CFG_LEN];
      ti_config_write(&core.cfg, v);
      print_hex("config", v, TI_CFG_LEN);
    } else if (!strcmp(cmd, "fifo")) {
      unsigned long t_read;
      unsigned n, j;
      if (sscanf(line, "%*s %lu %u", &t_read, &n) != 2) return 2;
      for (j = 0; j < n; j++) {
        int a[6], i;
        int16_t raw[6];
        if (!fgets(line, sizeof line, stdin)) return 2;
        if (sscanf(line, "%d %d %d %d %d %d", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5]) != 6) return 2;
        for (i = 0; i < 6; i++) raw[i] = (int16_t)a[i];
        ti_core_push(&core, raw, ti_fifo_time((uint32_t)t_read, (uint16_t)n, (uint16_t)j));
      }
    } else if (!strcmp(cmd, "radio")) {
      int k, K = atoi(arg);
      for (k = 0; k < K; k++) {
        uint16_t len;
        const uint8_t *p = ti_core_peek(&core, &len);
        if (!p) break;
        print_hex("data", p, len);
        ti_core_pop(&core);
      }
      for (k = 0; k < K; k++) {
        uint8_t frag[TI_MAX_MTU];
        uint16_t len = ti_impulse_fragment(&core, frag);
        if (!len) break;
        print_hex("imp", frag, len);
        ti_impulse_fragment_sent(&core);
      }
    } else if (!strcmp(cmd, "status")) {
      unsigned chg, mv;
      int temp;
      unsigned long t;
      uint8_t v[TI_STATUS_LEN];
      if (sscanf(line, "%*s %u %u %d %lu", &chg, &mv, &temp, &t) != 4) return 2;
      ti_status_build(&core, v, (uint8_t)chg, (uint16_t)mv, (int8_t)temp, (uint32_t)t);
      print_hex("status", v, TI_STATUS_LEN);
    } else {
      fprintf(stderr, "unknown command %s\n", cmd);
      return 2;
    }
  }
  return 0;
}
