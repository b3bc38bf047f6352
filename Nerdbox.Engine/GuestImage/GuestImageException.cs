namespace Nerdbox.Engine.GuestImage;

/// <summary>The guest image cannot be built; the message says what is missing and how to get it.</summary>
public sealed class GuestImageException(string message) : Exception(message);
