namespace Nerdbox.Engine.Vm;

/// <summary>A VM could not be made, started, reached or kept running; the message says why.</summary>
public class VmException(string message, Exception? inner = null) : Exception(message, inner);
