import { LampError } from "./errors.js";

/** A flag that takes a whole number within bounds; anything else is a usage error naming the flag. */
export function wholeNumberFlag(flag: string, value: string, min: number, max: number, example: number): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) {
    throw new LampError("usage", `${flag} must be a whole number from ${min} to ${max}, not "${value}".`, `Try ${flag} ${example}.`);
  }
  return number;
}
