// Torch's RNG is process-global: tests that reseed it must not interleave, or "deterministic" runs diverge.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
