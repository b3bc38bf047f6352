namespace Nerdbox.Fuzz.Harnesses;

/// <summary>
/// A target with a planted bug, to show that the pipeline (instrumentation, afl-fuzz, SharpFuzz's fork
/// server) finds and reports a crash: it throws an undocumented exception for any input starting
/// with <c>bug!</c>. Not one of <see cref="FuzzHarnesses.All"/>: it tests the fuzzing, not the product.
/// </summary>
internal sealed class CanaryHarness : IFuzzHarness
{
    public string Name => "canary";
    public string Input => "anything; inputs starting with 'bug!' crash it on purpose (checks the fuzzing itself)";

    public void Run(byte[] input)
    {
        // Byte by byte, so that coverage leads the fuzzer from the seed to the planted bug.
        if (input.Length > 0 && input[0] == 'b')
            if (input.Length > 1 && input[1] == 'u')
                if (input.Length > 2 && input[2] == 'g')
                    if (input.Length > 3 && input[3] == '!')
                        throw new InvalidOperationException("the planted bug was found");
    }
}
