namespace Nerdbox.Fuzz.Harnesses;

/// <summary>
/// A target with a planted bug, to show that the pipeline (instrumentation, afl-fuzz, SharpFuzz's fork
/// server) finds and reports a crash: it throws an undocumented exception for any input holding
/// the byte 0xFF. Not one of <see cref="FuzzHarnesses.All"/>: it tests the fuzzing, not the product.
/// </summary>
internal sealed class CanaryHarness : IFuzzHarness
{
    public string Name => "canary";
    public string Input => "anything; inputs holding the byte 0xFF crash it on purpose (checks the fuzzing itself)";

    public void Run(byte[] input) => PlantedBug.Check(input);
}

/// <summary>
/// The canary's code under test, instrumented on its own (fuzz.sh names it): instrumented code may only run
/// once the fork server has mapped the coverage map, so the harness types themselves are never instrumented.
/// </summary>
internal static class PlantedBug
{
    public static void Check(byte[] input)
    {
        // A byte the seed lacks and mutation makes often (0xFF is -1, one of afl-fuzz's interesting values),
        // so that a short run finds it every time; coverage is only needed for afl-fuzz to run at all.
        if (input.AsSpan().Contains((byte)0xFF))
            throw new InvalidOperationException("the planted bug was found");
    }
}
