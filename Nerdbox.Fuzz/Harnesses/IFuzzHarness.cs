namespace Nerdbox.Fuzz.Harnesses;

/// <summary>
/// One fuzz target: an entry point the product feeds with untrusted bytes. The contract: for any
/// input the target succeeds, or throws its one documented bad-input exception with a message.
/// Any other exception, a hang, a stack overflow or running out of memory is a finding.
/// </summary>
public interface IFuzzHarness
{
    /// <summary>The name the command line and the corpus folders use.</summary>
    string Name { get; }

    /// <summary>What an input is, for the usage text and the docs.</summary>
    string Input { get; }

    void Run(byte[] input);
}

/// <summary>An input made the product break a promise it makes beyond not crashing (a bound it did not keep).</summary>
public sealed class BrokenPromiseException(string message) : Exception(message)
{
    public static void Require(bool kept, Func<string> promise)
    {
        if (!kept) throw new BrokenPromiseException(promise());
    }
}
