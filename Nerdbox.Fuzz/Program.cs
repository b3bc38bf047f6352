using Nerdbox.Fuzz.Harnesses;
using SharpFuzz;

// nerdbox fuzz TARGET: under afl-fuzz, SharpFuzz's fork server runs the harness on each input (in one
// process); without it, the harness runs once on stdin, so that a finding can be replayed by hand.
if (args.Length != 1 || FuzzHarnesses.Find(args[0]) is not { } harness)
{
    Console.Error.WriteLine("usage: Nerdbox.Fuzz TARGET   (input on stdin; under afl-fuzz, see docs/fuzzing.md)");
    Console.Error.WriteLine("targets:");
    foreach (var h in FuzzHarnesses.All.Append(FuzzHarnesses.Canary)) Console.Error.WriteLine($"  {h.Name,-14} {h.Input}");
    return 2;
}

Fuzzer.Run(stream =>
{
    using var input = new MemoryStream();
    stream.CopyTo(input);
    harness.Run(input.ToArray());
});
return 0;
