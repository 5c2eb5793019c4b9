/**
 * The study's target for its best model, and the after-the-fact check of a run against it. Reports only: nothing
 * here decides what is trained (the plan, training-plan.ts, reads no time).
 */

/** The study's target for the `best` model: this test accuracy (single pass) within this many minutes of training on a 2-core machine. */
export const STUDY_TARGET: Readonly<{ testAcc: number; trainMinutes: number }> = Object.freeze({ testAcc: 0.93, trainMinutes: 20 });

/**
 * One line comparing a final run with {@link STUDY_TARGET}. Reports only: the measured time is compared here, after
 * the fact, and never decides anything that is trained.
 */
export function describeTarget(testAcc: number, trainSec: number, profile: string): string {
  const minutes = trainSec / 60;
  const t = STUDY_TARGET;
  const head = `study target ${(100 * t.testAcc).toFixed(1)}% test accuracy in under ${t.trainMinutes} min of training`;
  if (testAcc >= t.testAcc && minutes < t.trainMinutes) return `${head}: reached (${(100 * testAcc).toFixed(2)}% in ${minutes.toFixed(1)} min)`;
  return `${head}: not reached (${(100 * testAcc).toFixed(2)}% in ${minutes.toFixed(1)} min${profile === "full" ? "" : "; the quick profile is a smoke test"})`;
}
