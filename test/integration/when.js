// test.serial, or a skip whose title carries the reason: the one way a test
// file says why a test cannot run here (apart from helpers.js, which child
// scripts outside ava import too).
import test from 'ava';

export function when(reason, title, fn) {
  if (reason) return test.serial.skip(`${title} (skipped: ${reason})`, fn);
  return test.serial(title, fn);
}
