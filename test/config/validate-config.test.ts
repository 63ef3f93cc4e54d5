import { describe, expect, it } from 'vitest';
import { problemLines } from './problem-lines.ts';

// Each case is a small site file and exactly what `ems check-config` prints for it.
describe('cross-checks', () => {
  it.each([
    [
      'a line-to-line connection on a three-phase charger',
      `
        grid: { maxCurrent: 63 }
        chargers:
          - { id: NA1, phases: 1, connection: L1-L2 }
          - { id: NA2, connection: L2-L3 }
      `,
      ['chargers.1.connection: a line-to-line connection (L2-L3) is for a single-phase charger: set phases: 1 (line 4)'],
    ],
    [
      'duplicate charger ids',
      `
        grid: { maxCurrent: 63 }
        chargers:
          - { id: CP1 }
          - { id: CP2 }
          - { id: CP1 }
      `,
      ['chargers.2.id: duplicate charger id "CP1" (first at chargers.0) (line 5)'],
    ],
    [
      'duplicate device ids',
      `
        grid: { maxCurrent: 63 }
        devices:
          - { id: pv, role: pv, driver: simulated }
          - { id: pv, role: battery, driver: simulated }
      `,
      ['devices.1.id: duplicate device id "pv" (first at devices.0) (line 4)'],
    ],
    [
      'duplicate idTags, compared without case as OCPP does',
      `
        grid: { maxCurrent: 63 }
        idTags:
          - { idTag: "04a1b2" }
          - { idTag: "04A1B2" }
      `,
      ['idTags.1.idTag: duplicate idTag "04A1B2" (first at idTags.0) (line 4)'],
    ],
    [
      'duplicate openadr ids',
      `
        grid: { maxCurrent: 63 }
        openadr:
          - { id: utility, version: "3.1", vtnUrl: "http://127.0.0.1:8080/openadr3", venName: a }
          - { id: utility, version: "3.1", vtnUrl: "http://127.0.0.1:8081/openadr3", venName: b }
      `,
      ['openadr.1.id: duplicate openadr id "utility" (first at openadr.0) (line 4)'],
    ],
    [
      'a circuit id used twice in the tree',
      `
        grid: { maxCurrent: 63 }
        circuits:
          - id: main
            maxCurrent: 63
            children:
              - { id: row, maxCurrent: 32 }
              - { id: row, maxCurrent: 32 }
      `,
      ['circuits.0.children.1.id: duplicate circuit id "row" (first at circuits.0.children.0) (line 7)'],
    ],
    [
      'a circuit that contains itself by id',
      `
        grid: { maxCurrent: 63 }
        circuits:
          - id: main
            maxCurrent: 63
            children:
              - id: row
                maxCurrent: 32
                children:
                  - { id: main, maxCurrent: 16 }
      `,
      ['circuits.0.children.0.children.0.id: circuit id cycle: main → row → main (line 9)'],
    ],
    [
      'a charger in no circuit',
      `
        grid: { maxCurrent: 63 }
        circuits: [ { id: main, maxCurrent: 63, chargers: [CP1] } ]
        chargers:
          - { id: CP1 }
          - { id: CP2 }
      `,
      ['chargers.1.id: charger "CP2" is in no circuit; list it under the chargers of the circuit that feeds it (line 5)'],
    ],
    [
      'a charger in two circuits',
      `
        grid: { maxCurrent: 63 }
        circuits:
          - id: main
            maxCurrent: 63
            children:
              - { id: row-a, maxCurrent: 32, chargers: [CP1, CP2] }
              - { id: row-b, maxCurrent: 32, chargers: [CP2] }
        chargers: [ { id: CP1 }, { id: CP2 } ]
      `,
      ['circuits.0.children.1.chargers.0: charger "CP2" is already in circuit "row-a" (circuits.0.children.0.chargers.1); a charger belongs to exactly one circuit (line 7)'],
    ],
    [
      'a charger listed twice in one circuit',
      `
        grid: { maxCurrent: 63 }
        circuits: [ { id: main, maxCurrent: 63, chargers: [CP1, CP1] } ]
        chargers: [ { id: CP1 } ]
      `,
      ['circuits.0.chargers.1: charger "CP1" is listed twice in this circuit; a charger belongs to exactly one circuit (line 2)'],
    ],
    [
      'a circuit naming an unknown charger',
      `
        grid: { maxCurrent: 63 }
        circuits:
          - id: main
            maxCurrent: 63
            chargers: [CP001, CP0002]
        chargers: [ { id: CP001 }, { id: CP002 } ]
      `,
      [
        'circuits.0.chargers.1: unknown charger "CP0002"; did you mean "CP002"? (line 5)',
        'chargers.1.id: charger "CP002" is in no circuit; list it under the chargers of the circuit that feeds it (line 6)',
      ],
    ],
    [
      'grid.meter naming an unknown device',
      `
        grid: { maxCurrent: 63, meter: grid }
        devices: [ { id: gridmeter, role: grid-meter, driver: simulated } ]
      `,
      ['grid.meter: unknown device "grid"; did you mean "gridmeter"? (line 1)'],
    ],
    [
      'grid.meter naming a device that is not a grid meter',
      `
        grid: { maxCurrent: 63, meter: pv }
        devices: [ { id: pv, role: pv, driver: simulated } ]
      `,
      ['grid.meter: device "pv" has role pv; the grid meter must have role grid-meter (line 1)'],
    ],
    [
      'a circuit meter naming an unknown device',
      `
        grid: { maxCurrent: 63 }
        circuits: [ { id: main, maxCurrent: 63, meter: board } ]
      `,
      ['circuits.0.meter: unknown device "board" (line 2)'],
    ],
    [
      'a circuit meter that is a PV inverter',
      `
        grid: { maxCurrent: 63 }
        circuits: [ { id: main, maxCurrent: 63, meter: pv } ]
        devices: [ { id: pv, role: pv, driver: simulated } ]
      `,
      ['circuits.0.meter: device "pv" has role pv; a circuit meter must have role load or grid-meter (line 2)'],
    ],
    [
      'minCurrent above maxCurrent',
      `
        grid: { maxCurrent: 63 }
        chargers:
          - id: CP1
            maxCurrent: 16
            minCurrent: 20
      `,
      ['chargers.0.minCurrent: minCurrent 20 A is above maxCurrent 16 A (line 5)'],
    ],
    [
      'a charger tier missing from control.tiers',
      `
        grid: { maxCurrent: 63 }
        control: { tiers: { fleet: 2, staff: 1 } }
        chargers: [ { id: CP1, tier: fleets } ]
      `,
      ['chargers.0.tier: tier "fleets" is not in control.tiers (fleet, staff); did you mean "fleet"? (line 3)'],
    ],
    [
      'an idTag tier missing from control.tiers, including the default guest tier',
      `
        grid: { maxCurrent: 63 }
        control: { tiers: { fleet: 2, staff: 1 } }
        idTags:
          - { idTag: "A1", tier: vip }
          - { idTag: "A2" }
      `,
      [
        'idTags.0.tier: tier "vip" is not in control.tiers (fleet, staff) (line 4)',
        'idTags.1.tier: tier "guest" is not in control.tiers (fleet, staff) (line 5)',
      ],
    ],
    [
      'an idTag departure that is not a time of day',
      `
        grid: { maxCurrent: 63 }
        idTags: [ { idTag: "A1", departure: "25:10" } ]
      `,
      ['idTags.0.departure: "25:10" is not a time of day (00:00 to 23:59) (line 2)'],
    ],
    [
      'an mqtt device with no broker configured',
      `
        grid: { maxCurrent: 63 }
        devices:
          - { id: pv, role: pv, driver: mqtt, topic: site/pv/power }
      `,
      ['devices.0.driver: an mqtt device reads from the broker in mqtt.url, and there is no mqtt section (line 3)'],
    ],
    [
      'an mqtt price feed with no broker configured',
      `
        grid: { maxCurrent: 63 }
        tariffs:
          feed: { driver: mqtt, topic: site/prices }
      `,
      ['tariffs.feed.driver: an mqtt price feed reads from the broker in mqtt.url, and there is no mqtt section (line 3)'],
    ],
    [
      'the OCPP and HTTP servers on one port',
      `
        grid: { maxCurrent: 63 }
        ocpp: { port: 8080 }
        http: { host: 127.0.0.1, port: 8080 }
      `,
      ['http.port: 8080 is also ocpp.port; the OCPP and HTTP servers need different ports (line 3)'],
    ],
    [
      'an unknown time zone',
      `
        site: { timezone: Europe/Berln }
        grid: { maxCurrent: 63 }
      `,
      ['site.timezone: unknown time zone "Europe/Berln"; did you mean "Europe/Berlin"? (line 1)'],
    ],
  ])('reports %s', (_name, yamlText, expected) => {
    expect(problemLines(yamlText)).toEqual(expected);
  });

  it.each([
    [
      'a child circuit whose limit exceeds its parent',
      `
        grid: { maxCurrent: 100 }
        circuits:
          - id: main
            maxCurrent: 63
            children:
              - { id: row, maxCurrent: 80 }
      `,
      ['circuits.0.children.0.maxCurrent: warning: 80 A is above its parent circuit "main" (63 A); the parent\'s limit applies (line 6)'],
    ],
    [
      'a root circuit above grid.maxCurrent',
      `
        grid: { maxCurrent: 63 }
        circuits: [ { id: main, maxCurrent: 100 } ]
      `,
      ['circuits.0.maxCurrent: warning: 100 A is above grid.maxCurrent (63 A); the grid limit applies (line 2)'],
    ],
    [
      'a charger whose minimum is above its circuit\'s limit after the safety margin',
      `
        grid: { maxCurrent: 63, safetyMargin: 0.1 }
        circuits:
          - id: main
            maxCurrent: 63
            children: [ { id: garage-socket, maxCurrent: 6, chargers: [CP1] } ]
        chargers: [ { id: CP1, minCurrent: 6 } ]
      `,
      ['chargers.0.minCurrent: warning: 6 A is above what circuit "garage-socket" allows after the safety margin (5.4 A): this charger can never charge (line 6)'],
    ],
    [
      'a charger that cannot charge at the failsafe current',
      `
        grid: { maxCurrent: 63, meter: grid }
        control: { failsafeCurrent: 6 }
        devices: [ { id: grid, role: grid-meter, driver: simulated } ]
        chargers: [ { id: CP1, minCurrent: 8 } ]
      `,
      ['chargers.0.minCurrent: warning: 8 A is above control.failsafeCurrent (6 A): this charger pauses whenever site data is stale (line 4)'],
    ],
    [
      'chargers without smart charging that alone could exceed a circuit',
      `
        grid: { maxCurrent: 100, safetyMargin: 0 }
        circuits: [ { id: row, maxCurrent: 40, chargers: [CP1, CP2] } ]
        chargers: [ { id: CP1, smartCharging: false }, { id: CP2, smartCharging: false } ]
      `,
      ['circuits.0.maxCurrent: warning: chargers without smart charging (smartCharging: false) alone can draw 64 A, above what circuit "row" allows after the safety margin (40 A); nothing the EMS does can prevent that (line 2)'],
    ],
    [
      'a grid meter device that grid.meter does not name',
      `
        grid: { maxCurrent: 63 }
        devices: [ { id: main-meter, role: grid-meter, driver: simulated } ]
      `,
      ['grid.meter: warning: not set, so device "main-meter" (grid-meter) is not used and balancing is static; set grid.meter: main-meter to use it (line 1)'],
    ],
  ])('warns about %s and still accepts the file', (_name, yamlText, expected) => {
    expect(problemLines(yamlText)).toEqual(expected);
  });

  it.each([
    ['a single-phase charger with a rotation (it picks the site phase)', `
      grid: { maxCurrent: 63 }
      chargers: [ { id: CP1, phases: 1, phaseRotation: L2L3L1 } ]
    `],
    ['chargers without circuits (static tree: only the grid limit)', `
      grid: { maxCurrent: 63 }
      chargers: [ { id: CP1 }, { id: CP2 } ]
    `],
    ['children that add up to more than their parent', `
      grid: { maxCurrent: 63 }
      circuits:
        - id: main
          maxCurrent: 63
          children:
            - { id: a, maxCurrent: 40, chargers: [CP1] }
            - { id: b, maxCurrent: 40, chargers: [CP2] }
      chargers: [ { id: CP1 }, { id: CP2 } ]
    `],
    ['a charger above the failsafe current on an unmetered site (it never goes to failsafe)', `
      grid: { maxCurrent: 63 }
      chargers: [ { id: CP1, minCurrent: 8 } ]
    `],
    ['a charger above a failsafe current of 0 (everyone pauses on purpose)', `
      grid: { maxCurrent: 63, meter: grid }
      control: { failsafeCurrent: 0 }
      devices: [ { id: grid, role: grid-meter, driver: simulated } ]
      chargers: [ { id: CP1, minCurrent: 8 } ]
    `],
    ['an mqtt device when the broker is configured', `
      grid: { maxCurrent: 63 }
      mqtt: { url: "mqtt://127.0.0.1:1883" }
      devices: [ { id: pv, role: pv, driver: mqtt, topic: site/pv/power } ]
    `],
    ['both servers on port 0 (each picks a free port)', `
      grid: { maxCurrent: 63 }
      ocpp: { port: 0 }
      http: { port: 0 }
    `],
    ['two parallel feeders at the top of the tree', `
      grid: { maxCurrent: 63 }
      circuits:
        - { id: north, maxCurrent: 40, chargers: [CP1] }
        - { id: south, maxCurrent: 40, chargers: [CP2] }
      chargers: [ { id: CP1 }, { id: CP2 } ]
    `],
  ])('accepts %s without comment', (_name, yamlText) => {
    expect(problemLines(yamlText)).toEqual([]);
  });
});
