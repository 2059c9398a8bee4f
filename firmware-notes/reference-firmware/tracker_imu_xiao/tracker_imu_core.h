/* tracker_imu_core.h - hardware-free core of the tracker-imu reference firmware.
 *
 * Everything that decides bytes on the air lives here: config validation, the
 * 1.66 kHz -> stream-rate decimator, the data packet builder, the impulse detector
 * and its fragments, the status value. The sketch (tracker_imu_xiao.ino) only moves
 * bytes between the IMU, this core and the radio.
 *
 * Spec: firmware-notes/gatt-profile.md (section numbers below refer to it).
 * Mirror: tracker/firmware_mirror.py, line for line, same integer arithmetic.
 * Check:  tests/test_firmware_mirror.py compiles this file with the host C compiler
 *         (../host_check/host_check.c) and compares its bytes with the mirror, and
 *         the mirror's with tracker.profiles.tracker_imu's encoder and decoder.
 *
 * Plain C99, no allocation, no floating point, no Arduino headers.
 */
#ifndef TRACKER_IMU_CORE_H
#define TRACKER_IMU_CORE_H

#include <stdint.h>
#include <string.h>

/* ---- spec constants --------------------------------------------------------- */
#define TI_HDR_LEN 8        /* §4 data packet header */
#define TI_SAMPLE_LEN 12    /* §4 6-axis sample: this board has no magnetometer */
#define TI_CFG_LEN 9        /* §5 */
#define TI_STATUS_LEN 14    /* §6 */
#define TI_FRAG_HDR_LEN 4   /* §7 fragment header */
#define TI_WIN_HDR_LEN 12   /* §7 window body header */
#define TI_ATT_HDR_LEN 3    /* opcode + handle of a Handle Value Notification */
#define TI_MAX_MTU 247      /* what the SoftDevice is configured for */
#define TI_MIN_MTU 23
#define TI_FLAG_MAG 0x10
#define TI_FLAG_OVERRUN 0x20
#define TI_FLAG_IMPULSE 0x40
#define TI_ATT_OK 0x00
#define TI_ATT_INVALID_LEN 0x0D /* §5 value is not 9 bytes */
#define TI_ATT_NOT_ALLOWED 0x13 /* §5 bad version / flags / rate / range / threshold */
#define TI_ATT_BUSY 0x80        /* §5 rate, range or mag changed while streaming */

/* ---- board: LSM6DS3TR-C FIFO at 1.66 kHz ----------------------------------- */
#define TI_IMU_PERIOD_US 600u /* ODR 6.667 kHz / 4 = 1666.7 Hz */
#define TI_IMU_RATE_HZ 1667   /* rate_hz written in impulse windows (§7) */
/* LSM6DS3TR-C gyro: 8.75 mdps/LSB at ±250 dps (x2 per range step); the profile's LSB
 * is 250/32768 dps, so profile = raw * 8.75 * 32768 / 250000 = raw * 3584 / 3125
 * at every range. Its accelerometer LSB (0.061 mg at ±2 g, x2 per step) already is
 * range / 32768 g, so acc counts go out unscaled. */
#define TI_GYR_NUM 3584
#define TI_GYR_DEN 3125
#define TI_HP_SHIFT 4 /* EMA alpha 1/16: high-pass corner ~17 Hz at 1.66 kHz */
#define TI_PRE 16     /* window samples before the trigger: 9.6 ms */
#define TI_POST 48    /* from the trigger on: 28.8 ms */
#define TI_WIN (TI_PRE + TI_POST)
#define TI_WIN_BODY (TI_WIN_HDR_LEN + 6 * TI_WIN)
#define TI_QLEN 8     /* finished data packets waiting for a radio buffer */
#define TI_PKT_MAX ((TI_MAX_MTU - TI_ATT_HDR_LEN - TI_HDR_LEN) / TI_SAMPLE_LEN) /* 19 */

enum { TI_WIN_IDLE = 0, TI_WIN_CAPTURING = 1, TI_WIN_SENDING = 2 };

typedef struct {
  uint8_t flags;          /* §5 off 1: bit 0 stream, bit 1 mag, bit 2 impulse */
  uint16_t rate_hz;       /* §5 off 2 */
  uint8_t acc_range_g;    /* §5 off 4 */
  uint16_t gyr_range_dps; /* §5 off 5 */
  uint8_t max_latency_ms; /* §5 off 7 */
  uint8_t impulse_thr_dg; /* §5 off 8, 0.1 g units */
} ti_config_t;

typedef struct {
  ti_config_t cfg;
  uint16_t mtu;
  uint16_t seq;              /* §4: free-running from boot */
  uint32_t overrun_samples;  /* §6 fifo_overrun_samples */
  /* sample clock */
  uint8_t have_t;
  uint32_t last_t;
  /* decimator: one output sample per bin of 1/rate, the mean of its IMU samples */
  uint8_t bin_open;
  uint32_t bin_end;
  int64_t sum[6];
  int32_t count;
  /* packet under construction */
  uint8_t pkt[TI_HDR_LEN + TI_PKT_MAX * TI_SAMPLE_LEN];
  uint8_t pkt_n;
  uint8_t pkt_overrun;
  uint32_t pkt_t0;
  uint8_t have_next;
  uint32_t next_t;
  uint8_t gap;
  /* finished packets */
  uint8_t q[TI_QLEN][TI_HDR_LEN + TI_PKT_MAX * TI_SAMPLE_LEN];
  uint16_t q_len[TI_QLEN];
  uint8_t q_head, q_count;
  /* impulse detector */
  uint8_t lp_ready;
  int32_t lp[3]; /* low-passed acc, Q4 (counts x 16) */
  int16_t ring[TI_PRE][3];
  uint32_t ring_t[TI_PRE];
  uint8_t ring_pos, ring_fill;
  uint8_t win_state;
  uint8_t win_body[TI_WIN_BODY];
  uint16_t win_n, win_trig;
  uint32_t win_t0;
  uint8_t win_clipped;
  uint16_t impulse_id;
  uint8_t frag_idx;
  uint16_t holdoff;
} ti_core_t;

/* ---- little helpers --------------------------------------------------------- */
static inline uint16_t ti_get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline void ti_put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v & 0xFF);
  p[1] = (uint8_t)(v >> 8);
}
static inline void ti_put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v & 0xFF);
  p[1] = (uint8_t)((v >> 8) & 0xFF);
  p[2] = (uint8_t)((v >> 16) & 0xFF);
  p[3] = (uint8_t)(v >> 24);
}
static inline int16_t ti_sat16(int64_t v) { return (int16_t)(v > 32767 ? 32767 : (v < -32768 ? -32768 : v)); }
/* floor(v / 2^k) without relying on implementation-defined >> of negatives */
static inline int32_t ti_asr(int32_t v, int k) { return v >= 0 ? (v >> k) : -(((-v) - 1) >> k) - 1; }
/* num / den rounded to nearest, ties to even (§4), den > 0 */
static inline int64_t ti_div_round_even(int64_t num, int64_t den) {
  int64_t q = num / den, r = num % den; /* C99: truncates toward zero */
  if (r < 0) { q -= 1; r += den; }      /* now floor division, 0 <= r < den */
  if (2 * r > den || (2 * r == den && (q & 1))) q += 1;
  return q;
}
static inline int ti_acc_code(uint16_t g) { return g == 2 ? 0 : g == 4 ? 1 : g == 8 ? 2 : g == 16 ? 3 : -1; }
static inline int ti_gyr_code(uint16_t dps) {
  return dps == 250 ? 0 : dps == 500 ? 1 : dps == 1000 ? 2 : dps == 2000 ? 3 : -1;
}
/* §5 rates; 1600 Hz is not offered: the 1.66 kHz FIFO cannot fill 625 µs bins evenly */
static inline int ti_rate_ok(uint16_t hz) {
  return hz == 25 || hz == 50 || hz == 100 || hz == 200 || hz == 400 || hz == 800;
}
static inline uint32_t ti_period_us(const ti_core_t *s) { return 1000000u / s->cfg.rate_hz; }

/* ---- §5 config ------------------------------------------------------------------ */
static const ti_config_t TI_CONFIG_DEFAULT = {0x06, 100, 16, 2000, 20, 20};

/* Validate a config write against the current config; 0 or the ATT error code. */
static uint8_t ti_config_parse(const ti_config_t *cur, const uint8_t *v, uint16_t len, ti_config_t *out) {
  ti_config_t c;
  if (len != TI_CFG_LEN) return TI_ATT_INVALID_LEN;
  if (v[0] != 1) return TI_ATT_NOT_ALLOWED;    /* off 0 version */
  if (v[1] & 0xF8) return TI_ATT_NOT_ALLOWED;  /* off 1 flags bits 3-7 reserved */
  c.flags = v[1];
  c.rate_hz = ti_get_u16(v + 2);               /* off 2 */
  c.acc_range_g = v[4];                        /* off 4 */
  c.gyr_range_dps = ti_get_u16(v + 5);         /* off 5 */
  c.max_latency_ms = v[7];                     /* off 7 */
  c.impulse_thr_dg = v[8];                     /* off 8 */
  if (!ti_rate_ok(c.rate_hz) || ti_acc_code(c.acc_range_g) < 0 || ti_gyr_code(c.gyr_range_dps) < 0 ||
      c.impulse_thr_dg == 0)
    return TI_ATT_NOT_ALLOWED;
  if ((cur->flags & 1) && (c.flags & 1) &&
      (c.rate_hz != cur->rate_hz || c.acc_range_g != cur->acc_range_g ||
       c.gyr_range_dps != cur->gyr_range_dps || ((c.flags ^ cur->flags) & 2)))
    return TI_ATT_BUSY;
  *out = c;
  return TI_ATT_OK;
}

static void ti_config_write(const ti_config_t *c, uint8_t out[TI_CFG_LEN]) {
  out[0] = 1;                        /* off 0 version */
  out[1] = c->flags;                 /* off 1 */
  ti_put_u16(out + 2, c->rate_hz);   /* off 2 */
  out[4] = c->acc_range_g;           /* off 4 */
  ti_put_u16(out + 5, c->gyr_range_dps); /* off 5 */
  out[7] = c->max_latency_ms;        /* off 7 */
  out[8] = c->impulse_thr_dg;        /* off 8 */
}

/* ---- §4 data packets -------------------------------------------------------------- */
static inline uint8_t ti_pkt_cap(const ti_core_t *s) {
  uint16_t n = (uint16_t)((s->mtu - TI_ATT_HDR_LEN - TI_HDR_LEN) / TI_SAMPLE_LEN); /* §4.1 */
  return (uint8_t)(n > TI_PKT_MAX ? TI_PKT_MAX : n);
}

static void ti_pkt_close(ti_core_t *s) {
  uint8_t *p = s->pkt;
  uint16_t len = (uint16_t)(TI_HDR_LEN + s->pkt_n * TI_SAMPLE_LEN);
  ti_put_u16(p + 0, s->seq);                                    /* off 0 seq */
  ti_put_u32(p + 2, s->pkt_t0);                                 /* off 2 t_us of sample 0 */
  p[6] = (uint8_t)(ti_acc_code(s->cfg.acc_range_g)              /* off 6 flags bits 0-1 */
                   | (ti_gyr_code(s->cfg.gyr_range_dps) << 2)   /* bits 2-3 */
                   | (s->pkt_overrun ? TI_FLAG_OVERRUN : 0)     /* bit 5 */
                   | (s->win_state != TI_WIN_IDLE ? TI_FLAG_IMPULSE : 0)); /* bit 6; bit 4 = 0 */
  p[7] = s->pkt_n;                                              /* off 7 n */
  if (s->q_count == TI_QLEN) {
    s->overrun_samples += s->pkt_n; /* §10: radio queue full, drop the packet, seq still counts */
  } else {
    uint8_t slot = (uint8_t)((s->q_head + s->q_count) % TI_QLEN);
    memcpy(s->q[slot], p, len);
    s->q_len[slot] = len;
    s->q_count++;
  }
  s->seq = (uint16_t)(s->seq + 1);
  s->pkt_n = 0;
}

static void ti_emit(ti_core_t *s, uint32_t t, const int16_t v[6]) {
  uint32_t P = ti_period_us(s);
  uint8_t *d;
  int i;
  if (s->have_next && t != s->next_t) { /* output samples missing before this one */
    s->gap = 1;
    if (s->pkt_n > 0) ti_pkt_close(s); /* samples inside a packet are evenly spaced */
  }
  if (s->pkt_n == 0) {
    s->pkt_t0 = t;
    s->pkt_overrun = s->gap;
    s->gap = 0;
  }
  d = s->pkt + TI_HDR_LEN + s->pkt_n * TI_SAMPLE_LEN; /* off 8 + 12 k */
  for (i = 0; i < 6; i++) ti_put_u16(d + 2 * i, (uint16_t)v[i]); /* acc x y z, gyro x y z, s16 */
  s->pkt_n++;
  s->next_t = t + P;
  s->have_next = 1;
  if (s->pkt_n >= ti_pkt_cap(s) ||
      (s->cfg.max_latency_ms && (uint32_t)s->pkt_n * P >= (uint32_t)s->cfg.max_latency_ms * 1000u))
    ti_pkt_close(s); /* §4.1: full, or waiting for one more sample would exceed max_latency_ms */
}

/* Close the open bin: mean of its IMU samples, stamped at the bin centre. */
static void ti_bin_close(ti_core_t *s) {
  uint32_t P = ti_period_us(s);
  int16_t v[6];
  int i;
  for (i = 0; i < 3; i++) v[i] = ti_sat16(ti_div_round_even(s->sum[i], s->count));
  for (i = 3; i < 6; i++)
    v[i] = ti_sat16(ti_div_round_even(s->sum[i] * TI_GYR_NUM, (int64_t)s->count * TI_GYR_DEN));
  ti_emit(s, s->bin_end - P / 2, v);
  for (i = 0; i < 6; i++) s->sum[i] = 0;
  s->count = 0;
}

static void ti_decim_push(ti_core_t *s, const int16_t raw[6], uint32_t t) {
  uint32_t P = ti_period_us(s);
  int i;
  if (!s->bin_open) {
    s->bin_open = 1;
    s->bin_end = t + P;
  } else if ((int32_t)(t - s->bin_end) >= 0) {
    uint32_t skip = (t - s->bin_end) / P; /* whole bins without a sample: IMU FIFO overrun */
    if (s->count > 0) ti_bin_close(s);
    s->overrun_samples += skip;
    s->bin_end += (skip + 1) * P;
  }
  for (i = 0; i < 6; i++) s->sum[i] += raw[i];
  s->count++;
}

/* ---- §7 impulse detector and fragments --------------------------------------------- */
static void ti_win_add(ti_core_t *s, const int16_t a[3]) {
  uint8_t *d = s->win_body + TI_WIN_HDR_LEN + 6 * s->win_n; /* body off 12 + 6 k */
  int i;
  for (i = 0; i < 3; i++) {
    ti_put_u16(d + 2 * i, (uint16_t)a[i]); /* acc x y z, s16 */
    if (a[i] >= 32767 || a[i] <= -32767) s->win_clipped = 1;
  }
  s->win_n++;
  if (s->win_n == TI_WIN) {
    uint8_t *h = s->win_body;
    ti_put_u32(h + 0, s->win_t0);      /* body off 0 t_us of sample 0 */
    ti_put_u16(h + 4, TI_IMU_RATE_HZ); /* off 4 rate_hz */
    ti_put_u16(h + 6, s->win_n);       /* off 6 n */
    ti_put_u16(h + 8, s->win_trig);    /* off 8 trigger_index */
    h[10] = s->cfg.acc_range_g;        /* off 10 acc_range_g */
    h[11] = s->win_clipped;            /* off 11 flags bit 0 clipped */
    s->win_state = TI_WIN_SENDING;
    s->frag_idx = 0;
  }
}

/* One 1.66 kHz accelerometer sample (raw counts at the configured range). */
static void ti_impulse_push(ti_core_t *s, const int16_t a[3], uint32_t t) {
  int64_t e2 = 0, scale = 10 * (int64_t)s->cfg.acc_range_g;
  int64_t thr = (int64_t)s->cfg.impulse_thr_dg * 32768 * 16; /* |hp| >= thr_dg/10 g, in Q4 x scale */
  int i, k;
  for (i = 0; i < 3; i++) {
    int32_t x = (int32_t)a[i] * 16;                /* Q4 */
    if (!s->lp_ready) s->lp[i] = x;                /* start at rest: gravity is no impulse */
    s->lp[i] += ti_asr(x - s->lp[i], TI_HP_SHIFT); /* EMA low-pass */
    e2 += (int64_t)(x - s->lp[i]) * (x - s->lp[i]); /* |high-pass|^2, Q8 */
  }
  s->lp_ready = 1;
  if (s->win_state == TI_WIN_CAPTURING) {
    ti_win_add(s, a);
  } else if (s->win_state == TI_WIN_IDLE && s->holdoff == 0 && e2 * scale * scale >= thr * thr) {
    s->win_n = 0;
    s->win_clipped = 0;
    s->win_trig = s->ring_fill;
    s->win_t0 = t;
    for (k = 0; k < s->ring_fill; k++) { /* the pre-trigger samples, oldest first */
      uint8_t j = (uint8_t)((s->ring_pos + TI_PRE - s->ring_fill + k) % TI_PRE);
      if (k == 0) s->win_t0 = s->ring_t[j];
      ti_win_add(s, s->ring[j]);
    }
    s->win_state = TI_WIN_CAPTURING;
    ti_win_add(s, a);
  }
  if (s->holdoff) s->holdoff--;
  for (i = 0; i < 3; i++) s->ring[s->ring_pos][i] = a[i];
  s->ring_t[s->ring_pos] = t;
  s->ring_pos = (uint8_t)((s->ring_pos + 1) % TI_PRE);
  if (s->ring_fill < TI_PRE) s->ring_fill++;
}

/* Next fragment of the captured window into out[]; its length, or 0 if none. */
static uint16_t ti_impulse_fragment(const ti_core_t *s, uint8_t *out) {
  uint16_t room = (uint16_t)(s->mtu - TI_ATT_HDR_LEN - TI_FRAG_HDR_LEN);
  uint16_t body = (uint16_t)(TI_WIN_HDR_LEN + 6 * s->win_n);
  uint16_t off = (uint16_t)(s->frag_idx * room), len;
  if (s->win_state != TI_WIN_SENDING) return 0;
  len = (uint16_t)(body - off < room ? body - off : room);
  ti_put_u16(out + 0, s->impulse_id);                   /* frag off 0 impulse_id */
  out[2] = s->frag_idx;                                 /* off 2 index */
  out[3] = (uint8_t)((body + room - 1) / room);         /* off 3 count */
  memcpy(out + TI_FRAG_HDR_LEN, s->win_body + off, len); /* off 4 payload slice */
  return (uint16_t)(TI_FRAG_HDR_LEN + len);
}

/* The radio took the fragment: move on; re-arm after the last one. */
static void ti_impulse_fragment_sent(ti_core_t *s) {
  uint16_t room = (uint16_t)(s->mtu - TI_ATT_HDR_LEN - TI_FRAG_HDR_LEN);
  uint16_t body = (uint16_t)(TI_WIN_HDR_LEN + 6 * s->win_n);
  if (s->win_state != TI_WIN_SENDING) return;
  s->frag_idx++;
  if ((uint16_t)(s->frag_idx * room) >= body) {
    s->win_state = TI_WIN_IDLE;
    s->impulse_id = (uint16_t)(s->impulse_id + 1);
    s->holdoff = TI_PRE; /* let the ring refill past the event's ringing */
  }
}

/* ---- §6 status ------------------------------------------------------------------------- */
/* LiPo percent from millivolts: piecewise linear through a typical discharge curve. */
static uint8_t ti_battery_pct(uint16_t mv) {
  static const uint16_t MV[8] = {3300, 3600, 3700, 3800, 3900, 4000, 4100, 4200};
  static const uint8_t PCT[8] = {0, 10, 30, 55, 72, 85, 95, 100};
  int i;
  if (mv == 0) return 255; /* unknown */
  if (mv <= MV[0]) return 0;
  for (i = 1; i < 8; i++)
    if (mv < MV[i])
      return (uint8_t)(PCT[i - 1] + (uint32_t)(PCT[i] - PCT[i - 1]) * (mv - MV[i - 1]) / (MV[i] - MV[i - 1]));
  return 100;
}

static void ti_status_build(const ti_core_t *s, uint8_t out[TI_STATUS_LEN], uint8_t charging, uint16_t mv,
                            int8_t temp_c, uint32_t t_us) {
  uint8_t pct = ti_battery_pct(mv);
  out[0] = 1;                                       /* off 0 version */
  out[1] = (uint8_t)((s->cfg.flags & 1)             /* off 1 bit 0 streaming */
                     | (charging ? 2 : 0)           /* bit 1 charging */
                     | (s->win_state != TI_WIN_IDLE ? 4 : 0) /* bit 2 impulse pending; bit 3 mag: none */
                     | (pct <= 10 && !charging ? 16 : 0));   /* bit 4 battery low */
  out[2] = pct;                                     /* off 2 battery_pct, 255 unknown */
  out[3] = (uint8_t)temp_c;                         /* off 3 s8 temperature, -128 unknown */
  ti_put_u16(out + 4, mv);                          /* off 4 battery_mV */
  ti_put_u32(out + 6, s->overrun_samples);          /* off 6 fifo_overrun_samples */
  ti_put_u32(out + 10, t_us);                       /* off 10 t_us */
}

/* ---- the core's API, used by the sketch ---------------------------------------------- */
static void ti_core_init(ti_core_t *s) {
  memset(s, 0, sizeof *s);
  s->cfg = TI_CONFIG_DEFAULT;
  s->mtu = TI_MIN_MTU;
}

static void ti_core_set_mtu(ti_core_t *s, uint16_t mtu) {
  s->mtu = mtu > TI_MAX_MTU ? TI_MAX_MTU : (mtu < TI_MIN_MTU ? TI_MIN_MTU : mtu);
}

/* A config write: validate, apply, start or stop. Returns 0 or the ATT error code. */
static uint8_t ti_core_configure(ti_core_t *s, const uint8_t *v, uint16_t len) {
  ti_config_t c;
  uint8_t err = ti_config_parse(&s->cfg, v, len, &c);
  uint8_t was = s->cfg.flags & 1;
  if (err) return err;
  if (was && s->pkt_n > 0 && !(c.flags & 1)) ti_pkt_close(s); /* stop: send what is there */
  if (!(c.flags & 4) && s->win_state == TI_WIN_CAPTURING) s->win_state = TI_WIN_IDLE;
  if (!was && (c.flags & 1)) {  /* start: fresh decimator, packet and detector; seq runs on */
    s->have_t = 0;
    s->bin_open = 0;
    memset(s->sum, 0, sizeof s->sum);
    s->count = 0;
    s->pkt_n = 0;
    s->have_next = 0;
    s->gap = 0;
    s->lp_ready = 0;
    s->ring_fill = 0;
    if (s->win_state == TI_WIN_CAPTURING) s->win_state = TI_WIN_IDLE;
    s->holdoff = 0;
  }
  s->cfg = c;
  return TI_ATT_OK;
}

/* §10: time of sample j of n read from the FIFO at t_read (the newest is ~t_read). */
static inline uint32_t ti_fifo_time(uint32_t t_read, uint16_t n, uint16_t j) {
  return t_read - (uint32_t)(n - 1 - j) * TI_IMU_PERIOD_US;
}

/* One IMU FIFO sample: raw acc x y z, gyro x y z (LSM6DS3TR-C counts, board axes). */
static void ti_core_push(ti_core_t *s, const int16_t raw[6], uint32_t t) {
  if (!(s->cfg.flags & 1)) return;
  if (s->have_t && (int32_t)(t - s->last_t) <= 0) t = s->last_t + 1; /* keep times increasing */
  s->have_t = 1;
  s->last_t = t;
  if (s->cfg.flags & 4) ti_impulse_push(s, raw, t);
  ti_decim_push(s, raw, t);
}

/* Oldest finished data packet (NULL if none); ti_core_pop() once the radio took it. */
static const uint8_t *ti_core_peek(const ti_core_t *s, uint16_t *len) {
  if (s->q_count == 0) return 0;
  *len = s->q_len[s->q_head];
  return s->q[s->q_head];
}

static void ti_core_pop(ti_core_t *s) {
  if (s->q_count == 0) return;
  s->q_head = (uint8_t)((s->q_head + 1) % TI_QLEN);
  s->q_count--;
}

#endif /* TRACKER_IMU_CORE_H */
