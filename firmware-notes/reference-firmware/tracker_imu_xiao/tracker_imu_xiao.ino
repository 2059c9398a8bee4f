// tracker_imu_xiao.ino - tracker-imu reference firmware for the Seeed XIAO nRF52840 Sense.
//
// Speaks firmware-notes/gatt-profile.md (version 1). Board package: "Seeed nRF52 Boards"
// (the Adafruit nRF52 core with the Bluefruit library), board "Seeed XIAO nRF52840 Sense",
// NOT the "mbed-enabled" package. No other libraries: the IMU is driven register by register.
//
// The bytes on the air are decided in tracker_imu_core.h (plain C, host-tested against
// tracker/firmware_mirror.py and the tracker decoder). This file only moves data:
// IMU FIFO -> core -> notifications, config writes -> core -> IMU registers.
//
// Not compiled in this repository's CI (no Arduino toolchain there). Lines marked
// UNCONFIRMED depend on board-package details that were read from its sources, not
// run on a board.
#include <bluefruit.h>
#include <Wire.h>
#include "tracker_imu_core.h"

// ---- UUIDs (gatt-profile.md §3), least significant byte first as BLEUuid wants ----
// 71c2xxxx-03a5-40df-b2b4-8177240a9904
#define TI_UUID(lo, hi) {0x04, 0x99, 0x0a, 0x24, 0x77, 0x81, 0xb4, 0xb2, 0xdf, 0x40, 0xa5, 0x03, lo, hi, 0xc2, 0x71}
static const uint8_t UUID_SERVICE[16] = TI_UUID(0x01, 0x00);
static const uint8_t UUID_DATA[16] = TI_UUID(0x02, 0x00);
static const uint8_t UUID_CONFIG[16] = TI_UUID(0x03, 0x00);
static const uint8_t UUID_STATUS[16] = TI_UUID(0x04, 0x00);
static const uint8_t UUID_IMPULSE[16] = TI_UUID(0x05, 0x00);

BLEService svc(UUID_SERVICE);
BLECharacteristic dataChr(UUID_DATA);
BLECharacteristic configChr(UUID_CONFIG);
BLECharacteristic statusChr(UUID_STATUS);
BLECharacteristic impulseChr(UUID_IMPULSE);
BLEDis dis;
BLEBas bas;

// ---- LSM6DS3TR-C on the board's internal I2C bus (Wire1, address 0x6A) ----
#define IMU_ADDR 0x6A
#define REG_FIFO_CTRL3 0x08
#define REG_FIFO_CTRL5 0x0A
#define REG_WHO_AM_I 0x0F   // 0x6A on the LSM6DS3TR-C
#define REG_CTRL1_XL 0x10
#define REG_CTRL2_G 0x11
#define REG_CTRL3_C 0x12
#define REG_OUT_TEMP_L 0x20
#define REG_FIFO_STATUS1 0x3A
#define REG_FIFO_STATUS3 0x3C
#define REG_FIFO_DATA_OUT_L 0x3E
#define ODR_1660 0x80        // ODR_XL / ODR_G = 1000b: 1.66 kHz
#define FIFO_CONT_1660 0x46  // ODR_FIFO 1.66 kHz (1000b << 3) | continuous mode (110b)
#define FIFO_READ_SETS 2     // samples per I2C burst (24 bytes fits any Wire buffer)

static ti_core_t core;
static SemaphoreHandle_t coreLock;  // the config callback runs in the BLE task, loop() in its own
static volatile bool imuReconfigure = false;
static uint16_t connHandle = BLE_CONN_HANDLE_INVALID;
static uint32_t lastStatusMs = 0, lastBatteryMs = 0;
static uint8_t lastStatusFlags = 0;
static uint16_t batteryMv = 0;

// ---- device clock: 32-bit TIMER4 at 1 MHz = the spec's u32 µs clock (§4 t_us) ----
// The crystal (HFXO) is requested so the clock is good to ~20 ppm; the internal RC
// oscillator would be ~1.5 % off and hold durations with it.
static void clockBegin() {
  sd_clock_hfclk_request();
  uint32_t running = 0;
  while (!running) sd_clock_hfclk_is_running(&running);
  NRF_TIMER4->MODE = TIMER_MODE_MODE_Timer;
  NRF_TIMER4->BITMODE = TIMER_BITMODE_BITMODE_32Bit;
  NRF_TIMER4->PRESCALER = 4;  // 16 MHz / 2^4 = 1 MHz
  NRF_TIMER4->TASKS_CLEAR = 1;
  NRF_TIMER4->TASKS_START = 1;
}
static uint32_t clockUs() {
  NRF_TIMER4->TASKS_CAPTURE[0] = 1;
  return NRF_TIMER4->CC[0];
}

// ---- IMU registers ----
static void imuWrite(uint8_t reg, uint8_t v) {
  Wire1.beginTransmission(IMU_ADDR);
  Wire1.write(reg);
  Wire1.write(v);
  Wire1.endTransmission();
}
static bool imuRead(uint8_t reg, uint8_t *buf, uint8_t n) {
  Wire1.beginTransmission(IMU_ADDR);
  Wire1.write(reg);
  if (Wire1.endTransmission(false) != 0) return false;
  if (Wire1.requestFrom(IMU_ADDR, n) != n) return false;
  for (uint8_t i = 0; i < n; i++) buf[i] = Wire1.read();
  return true;
}
static uint8_t fsXl(uint8_t g) { return g == 2 ? 0x0 : g == 16 ? 0x4 : g == 4 ? 0x8 : 0xC; }  // FS_XL bits 3:2
static uint8_t fsG(uint16_t dps) { return dps == 250 ? 0x0 : dps == 500 ? 0x4 : dps == 1000 ? 0x8 : 0xC; }

// Apply the core's config to the IMU: run at 1.66 kHz with the FIFO while streaming,
// power down otherwise. Flushes the FIFO so a new stream starts with fresh samples.
static void imuApply(const ti_config_t *c) {
  imuWrite(REG_FIFO_CTRL5, 0x00);  // bypass: empties the FIFO
  if (c->flags & 1) {
    imuWrite(REG_CTRL1_XL, ODR_1660 | fsXl(c->acc_range_g));
    imuWrite(REG_CTRL2_G, ODR_1660 | fsG(c->gyr_range_dps));
    imuWrite(REG_FIFO_CTRL3, 0x09);  // gyro and acc into the FIFO, no decimation
    imuWrite(REG_FIFO_CTRL5, FIFO_CONT_1660);
  } else {
    imuWrite(REG_CTRL1_XL, 0x00);
    imuWrite(REG_CTRL2_G, 0x00);
  }
}

static bool imuBegin() {
  pinMode(PIN_LSM6DS3TR_C_POWER, OUTPUT);  // the Sense powers its IMU from a GPIO
  digitalWrite(PIN_LSM6DS3TR_C_POWER, HIGH);
  delay(20);
  Wire1.begin();
  Wire1.setClock(400000);
  uint8_t who = 0;
  if (!imuRead(REG_WHO_AM_I, &who, 1) || who != 0x6A) return false;
  imuWrite(REG_CTRL3_C, 0x01);  // software reset
  delay(10);
  imuWrite(REG_CTRL3_C, 0x44);  // BDU, register address auto-increment
  imuApply(&core.cfg);
  return true;
}

// Read every complete sample set waiting in the FIFO and feed it to the core.
// FIFO order per set: gyro x y z, acc x y z (int16 LE); the core wants acc first.
static void imuDrain() {
  uint8_t st[4];
  if (!imuRead(REG_FIFO_STATUS1, st, 4)) return;
  uint32_t tRead = clockUs();  // the newest set in the FIFO is at most one IMU period old
  uint16_t words = (uint16_t)(st[0] | ((st[1] & 0x0F) << 8));
  uint16_t pattern = (uint16_t)(st[2] | ((st[3] & 0x03) << 8));
  while (pattern != 0 && words > 0) {  // realign to a set boundary (after an overrun)
    uint8_t junk[2];
    imuRead(REG_FIFO_DATA_OUT_L, junk, 2);
    words--;
    pattern = (uint16_t)((pattern + 1) % 6);
  }
  uint16_t n = words / 6;
  for (uint16_t j = 0; j < n; j += FIFO_READ_SETS) {
    uint8_t k = (uint8_t)min((int)FIFO_READ_SETS, (int)(n - j));
    uint8_t buf[12 * FIFO_READ_SETS];
    if (!imuRead(REG_FIFO_DATA_OUT_L, buf, (uint8_t)(12 * k))) return;  // burst reads roll over 0x3E/0x3F
    for (uint8_t i = 0; i < k; i++) {
      const uint8_t *b = buf + 12 * i;
      int16_t raw[6];
      for (uint8_t a = 0; a < 3; a++) {
        raw[a] = (int16_t)(b[6 + 2 * a] | (b[7 + 2 * a] << 8));  // acc
        raw[3 + a] = (int16_t)(b[2 * a] | (b[1 + 2 * a] << 8));  // gyro
      }
      ti_core_push(&core, raw, ti_fifo_time(tRead, n, (uint16_t)(j + i)));
    }
  }
}

static int8_t imuTemperatureC() {
  uint8_t b[2];
  if (!imuRead(REG_OUT_TEMP_L, b, 2)) return -128;  // §6: -128 = unknown
  return (int8_t)(25 + (int16_t)(b[0] | (b[1] << 8)) / 256);  // 256 LSB/°C, 0 = 25 °C
}

// ---- battery: P0.31 through a 1 M / 510 k divider, enabled by P0.14 low ----
// UNCONFIRMED: PIN_VBAT / VBAT_ENABLE names as in the Seeed variant.h; keep P0.14 LOW
// (driving it high exposes P0.31 to the full battery voltage).
static uint16_t readBatteryMv() {
#if defined(PIN_VBAT) && defined(VBAT_ENABLE)
  pinMode(VBAT_ENABLE, OUTPUT);
  digitalWrite(VBAT_ENABLE, LOW);
  analogReadResolution(12);  // default reference 3.6 V
  uint32_t raw = analogRead(PIN_VBAT);
  return (uint16_t)(raw * 3600UL / 4096UL * 1510UL / 510UL);
#else
  return 0;  // §6: unknown
#endif
}
static bool charging() { return nrf_gpio_pin_read(17) == 0; }  // P0.17 (BQ25101 CHG) low while charging

static void sendStatus() {
  uint8_t v[TI_STATUS_LEN];
  int8_t temp = imuTemperatureC();
  xSemaphoreTake(coreLock, portMAX_DELAY);
  ti_status_build(&core, v, charging(), batteryMv, temp, clockUs());
  xSemaphoreGive(coreLock);
  statusChr.write(v, sizeof v);  // the value a read returns
  if (connHandle != BLE_CONN_HANDLE_INVALID) statusChr.notify(connHandle, v, sizeof v);
}

// ---- BLE callbacks ----
// Config write with response (§5): validate in the core, answer with its ATT error code.
static void configWriteAuthorize(uint16_t conn, BLECharacteristic *chr, ble_gatts_evt_write_t *req) {
  (void)chr;
  xSemaphoreTake(coreLock, portMAX_DELAY);
  uint8_t was = core.cfg.flags & 1;
  ti_core_set_mtu(&core, Bluefruit.Connection(conn)->getMtu());
  uint8_t err = ti_core_configure(&core, req->data, req->len);
  if (!err && was != (core.cfg.flags & 1)) imuReconfigure = true;  // loop() talks to the IMU
  xSemaphoreGive(coreLock);
  ble_gatts_rw_authorize_reply_params_t reply;
  memset(&reply, 0, sizeof reply);
  reply.type = BLE_GATTS_AUTHORIZE_TYPE_WRITE;
  reply.params.write.gatt_status = err ? (uint16_t)(0x0100 | err) : BLE_GATT_STATUS_SUCCESS;
  reply.params.write.update = err ? 0 : 1;  // accepted values become what a read returns
  reply.params.write.len = req->len;
  reply.params.write.p_data = req->data;
  // UNCONFIRMED: older SoftDevice headers list 0x0113 as RFU; if it is refused, fall back
  // to the application error 0x0180 so the write still fails visibly.
  if (sd_ble_gatts_rw_authorize_reply(conn, &reply) == NRF_ERROR_INVALID_PARAM && err) {
    reply.params.write.gatt_status = 0x0180;
    sd_ble_gatts_rw_authorize_reply(conn, &reply);
  }
}

static void onConnect(uint16_t conn) {
  connHandle = conn;
  Bluefruit.Connection(conn)->requestMtuExchange(TI_MAX_MTU);
  Bluefruit.Connection(conn)->requestConnectionParameter(6);  // 7.5 ms interval
}

static void onDisconnect(uint16_t conn, uint8_t reason) {
  (void)conn;
  (void)reason;
  connHandle = BLE_CONN_HANDLE_INVALID;
  xSemaphoreTake(coreLock, portMAX_DELAY);
  uint8_t v[TI_CFG_LEN];
  ti_config_t stopped = core.cfg;
  stopped.flags &= (uint8_t)~1;  // the central went away: stop streaming
  ti_config_write(&stopped, v);
  if (ti_core_configure(&core, v, TI_CFG_LEN) == TI_ATT_OK) imuReconfigure = true;
  xSemaphoreGive(coreLock);
}

static void setupBle() {
  Bluefruit.configPrphBandwidth(BANDWIDTH_MAX);  // ATT MTU 247, longer connection events
  Bluefruit.begin();
  Bluefruit.setTxPower(4);
  char name[24];
  uint8_t mac[6];
  Bluefruit.getAddr(mac);  // LSB first
  snprintf(name, sizeof name, "tracker-imu-%02X%02X", mac[1], mac[0]);  // §2: last two address bytes
  Bluefruit.setName(name);
  Bluefruit.Periph.setConnectCallback(onConnect);
  Bluefruit.Periph.setDisconnectCallback(onDisconnect);

  dis.setManufacturer("tracker project");
  dis.setModel("tracker-imu");
  dis.setHardwareRev("XIAO nRF52840 Sense");
  dis.setFirmwareRev("1.0.0");  // major = spec version
  char serial[17];
  snprintf(serial, sizeof serial, "%08lX%08lX", (unsigned long)NRF_FICR->DEVICEID[1], (unsigned long)NRF_FICR->DEVICEID[0]);
  dis.setSerialNum(serial);
  dis.begin();
  bas.begin();

  svc.begin();
  dataChr.setProperties(CHR_PROPS_NOTIFY);
  dataChr.setPermission(SECMODE_OPEN, SECMODE_NO_ACCESS);
  dataChr.setMaxLen(TI_MAX_MTU - TI_ATT_HDR_LEN);
  dataChr.begin();
  configChr.setProperties(CHR_PROPS_READ | CHR_PROPS_WRITE);
  configChr.setPermission(SECMODE_OPEN, SECMODE_OPEN);
  configChr.setMaxLen(32);  // longer writes must reach the callback to get 0x0D, not a stack error
  configChr.setWriteAuthorizeCallback(configWriteAuthorize, false);  // answer in the BLE event
  configChr.begin();
  uint8_t cfg[TI_CFG_LEN];
  ti_config_write(&core.cfg, cfg);
  configChr.write(cfg, sizeof cfg);
  statusChr.setProperties(CHR_PROPS_READ | CHR_PROPS_NOTIFY);
  statusChr.setPermission(SECMODE_OPEN, SECMODE_NO_ACCESS);
  statusChr.setFixedLen(TI_STATUS_LEN);
  statusChr.begin();
  impulseChr.setProperties(CHR_PROPS_NOTIFY);
  impulseChr.setPermission(SECMODE_OPEN, SECMODE_NO_ACCESS);
  impulseChr.setMaxLen(TI_MAX_MTU - TI_ATT_HDR_LEN);
  impulseChr.begin();

  Bluefruit.Advertising.addFlags(BLE_GAP_ADV_FLAGS_LE_ONLY_GENERAL_DISC_MODE);
  Bluefruit.Advertising.addService(svc);  // §2: 128-bit service UUID in the advertisement
  Bluefruit.ScanResponse.addName();        // §2: name in the scan response
  Bluefruit.Advertising.restartOnDisconnect(true);
  Bluefruit.Advertising.setInterval(32, 244);  // 20 ms fast, then 152.5 ms
  Bluefruit.Advertising.setFastTimeout(30);
  Bluefruit.Advertising.start(0);
}

void setup() {
  coreLock = xSemaphoreCreateMutex();
  ti_core_init(&core);
  nrf_gpio_cfg_input(17, NRF_GPIO_PIN_PULLUP);
  setupBle();  // starts the SoftDevice, which the clock request needs
  clockBegin();
  if (!imuBegin()) {
    pinMode(LED_RED, OUTPUT);
    while (true) { digitalToggle(LED_RED); delay(200); }  // no IMU: blink red, do nothing else
  }
  batteryMv = readBatteryMv();
  bas.write(ti_battery_pct(batteryMv) == 255 ? 0 : ti_battery_pct(batteryMv));
}

void loop() {
  xSemaphoreTake(coreLock, portMAX_DELAY);
  if (imuReconfigure) {
    imuReconfigure = false;
    imuApply(&core.cfg);
  }
  if (core.cfg.flags & 1) imuDrain();
  xSemaphoreGive(coreLock);

  // Radio: data packets in order, then impulse fragments; stop at the first full buffer.
  // Copy under the lock, notify without it: notify() may wait on the BLE task, which may
  // be waiting for the lock in configWriteAuthorize().
  uint8_t buf[TI_MAX_MTU];
  uint16_t len = 0;
  while (connHandle != BLE_CONN_HANDLE_INVALID) {
    xSemaphoreTake(coreLock, portMAX_DELAY);
    const uint8_t *p = ti_core_peek(&core, &len);
    if (p) memcpy(buf, p, len);
    xSemaphoreGive(coreLock);
    if (!p || !dataChr.notify(connHandle, buf, len)) break;
    xSemaphoreTake(coreLock, portMAX_DELAY);
    ti_core_pop(&core);  // only loop() pops, so the head is still the packet just sent
    xSemaphoreGive(coreLock);
  }
  while (connHandle != BLE_CONN_HANDLE_INVALID) {
    xSemaphoreTake(coreLock, portMAX_DELAY);
    len = ti_impulse_fragment(&core, buf);
    xSemaphoreGive(coreLock);
    if (!len || !impulseChr.notify(connHandle, buf, len)) break;
    xSemaphoreTake(coreLock, portMAX_DELAY);
    ti_impulse_fragment_sent(&core);
    xSemaphoreGive(coreLock);
  }

  uint32_t now = millis();
  if (now - lastBatteryMs >= 60000 || lastBatteryMs == 0) {
    lastBatteryMs = now;
    batteryMv = readBatteryMv();
    uint8_t pct = ti_battery_pct(batteryMv);
    if (pct != 255) bas.notify(pct);
  }
  // §6: notify on change of the flag bits, and at least every 10 s (here 5 s).
  uint8_t flags = (uint8_t)((core.cfg.flags & 1) | (charging() ? 2 : 0) | (core.win_state != TI_WIN_IDLE ? 4 : 0));
  if (lastStatusMs == 0 || flags != lastStatusFlags || now - lastStatusMs >= 5000) {
    lastStatusMs = now;
    lastStatusFlags = flags;
    sendStatus();
  }
  delay(2);  // the FIFO holds ~400 ms at 1.66 kHz; 2 ms keeps bursts short and BLE fed
}
