global using Xunit;
global using Nerdbox.Testing;
global using Nerdbox.Engine.Boot;
global using Nerdbox.Engine.Relay;
global using Nerdbox.TraceViewer.Model;
global using Nerdbox.TraceViewer.Analysis;
global using Nerdbox.TraceViewer.Rendering;
