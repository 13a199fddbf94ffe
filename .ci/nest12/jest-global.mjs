// In ESM mode Jest injects describe/it/expect but not the `jest` object; expose it so specs that use
// jest.fn / spyOn / fake timers run unchanged. (jest.mock is not hoisted in ESM and cannot be shimmed.)
globalThis.jest = import.meta.jest;
