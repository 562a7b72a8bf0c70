using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Text;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace CryoEmPS.Core.Tests;

/// <summary>
/// The allowed arrows between the folders of CryoEmPS.Core (docs/ARCHITECTURE.md), checked on the compiled assemblies,
/// not on <c>using</c> lines: every type's base type, interfaces, generic constraints, field, method, property and event
/// signatures, custom attributes (constructors and typeof arguments), locals, catch clauses and every metadata token in
/// its method bodies. Nested and compiler-generated types (lambda closures, iterator and async state machines) count
/// for their outermost declaring type, whose namespace CryoEmPS.Core.X puts it in folder X.
/// </summary>
public sealed class ArchitectureTests
{
    // ---- The rules (mirror docs/ARCHITECTURE.md; change both together) ------------------------------------------------

    /// <summary>The layers, lowest first: a folder may use only folders listed before it (and only those its row allows).</summary>
    private static readonly string[] Layers =
    [
        "Native", "Numerics", "Plotting", "Rotations", "Volumes", "Projection", "Simulation", "Patches", "Evaluation", "IO", "Reconstruction",
    ];

    /// <summary>
    /// Folder → the folders it may use: the arrows measured on the build (acyclic), plus Native/ and Numerics/ for every
    /// folder above them (they are the shared toolbox: P/Invoke, lane FFT, SIMD, RNG, parallel loops).
    /// </summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Native"] = [],
        ["Numerics"] = ["Native"],
        ["Plotting"] = ["Native", "Numerics"],
        ["Rotations"] = ["Native", "Numerics"],
        ["Volumes"] = ["Native", "Numerics", "Rotations"],
        ["Projection"] = ["Native", "Numerics", "Rotations", "Volumes"],
        ["Simulation"] = ["Native", "Numerics", "Rotations", "Volumes", "Projection"],
        ["Patches"] = ["Native", "Numerics", "Rotations", "Projection", "Simulation"],
        ["Evaluation"] = ["Native", "Numerics", "Volumes"],
        ["IO"] = ["Native", "Numerics", "Rotations", "Volumes", "Projection", "Simulation"],
        ["Reconstruction"] = ["Native", "Numerics", "Rotations", "Volumes", "Projection", "Simulation", "Patches", "Evaluation", "IO"],
    };

    /// <summary>Arrows that stay forbidden whatever the table above says.</summary>
    private static readonly (string From, string[] To, string Why)[] NeverAllowed =
    [
        ("Native", Layers.Where(f => f != "Native").ToArray(), "Native/ is the P/Invoke doorway and depends on nothing else in Core"),
        ("Numerics", Layers.Where(f => f is not ("Native" or "Numerics")).ToArray(),
            "Numerics/ (lane FFT, SIMD, RNG) may use only Native/"),
        ("IO", ["Reconstruction"], "file formats never depend on the EM"),
        ("Plotting", Layers.Where(f => f is not ("Native" or "Numerics" or "Plotting")).ToArray(),
            "charts take plain data (series, images, boxes); the cmdlets map results onto them"),
    ];

    /// <summary>Assemblies Core must never reference: PowerShell and the cmdlet assembly.</summary>
    private static bool IsForbiddenForCore(string assemblyOrNamespace) =>
        assemblyOrNamespace == CommandsAssemblyName
        || IsOrUnder(assemblyOrNamespace, "System.Management.Automation")
        || IsOrUnder(assemblyOrNamespace, "Microsoft.PowerShell")
        || IsOrUnder(assemblyOrNamespace, "CryoEmPS.Commands");

    private static bool IsOrUnder(string name, string prefix) =>
        name == prefix || name.StartsWith(prefix + ".", StringComparison.Ordinal);

    private const string CoreRoot = "Core root";
    private const string CommandsAssemblyName = "CryoEmPS";
    private const int ExamplesPerArrow = 5;

    // ---- Tests ------------------------------------------------------------------------------------------------------

    private static readonly Lazy<AssemblyScan> CoreScan = new(() => AssemblyScan.Read(typeof(Volumes.Volume).Assembly.Location));

    private readonly ITestOutputHelper _out;

    public ArchitectureTests(ITestOutputHelper output) => _out = output;

    [Fact]
    public void CoreFolderArrowsAreAllowed()
    {
        var arrows = CoreArrows();
        _out.WriteLine(Describe(arrows));
        _out.WriteLine("The type pairs behind each arrow ([b] = seen only in method bodies):");
        var inLayerOrder = arrows.OrderBy(a => Array.IndexOf(Layers, a.Key.From)).ThenBy(a => Array.IndexOf(Layers, a.Key.To));
        foreach (var ((from, to), pairs) in inLayerOrder)
        {
            _out.WriteLine($"  {from} → {to}:");
            foreach (var pair in pairs)
            {
                _out.WriteLine($"    {(pair.Site == UseSite.Body ? "[b] " : "    ")}{pair.From.FullName} → {pair.To.FullName}");
            }
        }
        var problems = new StringBuilder();
        foreach (var ((from, to), pairs) in arrows.OrderBy(a => a.Key.From).ThenBy(a => a.Key.To))
        {
            if (!Allowed.TryGetValue(from, out var allowed))
            {
                problems.AppendLine($"Folder '{from}' has no row in the allowed table (ArchitectureTests.Allowed, docs/ARCHITECTURE.md): " +
                    $"it uses {to}. Put its types in a CryoEmPS.Core.<Folder> namespace of the table, or add a row for it.");
                AppendExamples(problems, pairs);
            }
            else if (!allowed.Contains(to))
            {
                var may = allowed.Length == 0 ? "nothing else in Core" : string.Join(", ", allowed);
                problems.AppendLine($"Forbidden arrow {from} → {to} ({pairs.Count} type pairs): {from}/ may use only {may}. " +
                    $"Move the code to a folder that may use {to}/, or pass the {to} object in through an interface that {from}/ " +
                    "owns; if the arrow is right, add it to ArchitectureTests.Allowed and docs/ARCHITECTURE.md together " +
                    "(keeping the folder graph acyclic).");
                AppendExamples(problems, pairs);
            }
        }
        Assert.True(problems.Length == 0, problems.ToString());
    }

    [Fact]
    public void CoreNeverUsesTheForbiddenFolders()
    {
        var arrows = CoreArrows();
        var problems = new StringBuilder();
        foreach (var (from, targets, why) in NeverAllowed)
        {
            foreach (var to in targets)
            {
                if (arrows.TryGetValue((from, to), out var pairs))
                {
                    problems.AppendLine($"Never-allowed arrow {from} → {to} ({pairs.Count} type pairs): {why}.");
                    AppendExamples(problems, pairs);
                }
            }
        }
        Assert.True(problems.Length == 0, problems.ToString());
    }

    [Fact]
    public void CoreFolderGraphIsAcyclic()
    {
        var arrows = CoreArrows();
        var cycle = FindCycle(arrows.Keys);
        if (cycle == null)
        {
            return;
        }
        var message = new StringBuilder($"The folders of CryoEmPS.Core form a cycle: {string.Join(" → ", cycle)}. ");
        message.Append("Break one arrow of it:");
        message.AppendLine();
        for (int i = 0; i + 1 < cycle.Count; i++)
        {
            var pairs = arrows[(cycle[i], cycle[i + 1])];
            message.AppendLine($"{cycle[i]} → {cycle[i + 1]} ({pairs.Count} type pairs):");
            AppendExamples(message, pairs);
        }
        Assert.Fail(message.ToString());
    }

    [Fact]
    public void AllowedTableIsLayeredAndKeepsTheNeverRules()
    {
        Assert.Equal(Layers.OrderBy(f => f), Allowed.Keys.OrderBy(f => f));
        foreach (var (from, targets) in Allowed)
        {
            foreach (var to in targets)
            {
                Assert.True(Array.IndexOf(Layers, to) >= 0, $"Allowed[{from}] names '{to}', which is not a folder of Layers.");
                Assert.True(Array.IndexOf(Layers, to) < Array.IndexOf(Layers, from),
                    $"Allowed arrow {from} → {to} points up the layer order ({string.Join(" < ", Layers)}).");
            }
        }
        foreach (var (from, targets, why) in NeverAllowed)
        {
            foreach (var to in targets)
            {
                Assert.False(Allowed[from].Contains(to), $"Allowed[{from}] contains {to}, which is never allowed: {why}.");
            }
        }
        Assert.Null(FindCycle(Allowed.SelectMany(a => a.Value.Select(to => (a.Key, to)))));
    }

    [Fact]
    public void EveryCoreTypeLivesInAFolderOfTheTable()
    {
        var scan = CoreScan.Value;
        var stray = new List<string>();
        foreach (var type in scan.DefinedTypes)
        {
            var folder = CoreFolder(type.Namespace);
            if (folder == null)
            {
                if (!scan.IsCompilerEmitted(type))
                {
                    stray.Add($"{type.FullName} (namespace outside CryoEmPS.Core)");
                }
                else
                {
                    _out.WriteLine($"compiler-emitted type, not in any folder: {type.FullName}");
                }
            }
            else if (!Allowed.ContainsKey(folder))
            {
                stray.Add($"{type.FullName} (folder '{folder}' has no row in ArchitectureTests.Allowed)");
            }
        }
        Assert.True(stray.Count == 0, "Types of CryoEmPS.Core outside the folders of docs/ARCHITECTURE.md:" + Environment.NewLine
            + string.Join(Environment.NewLine, stray));
    }

    [Fact]
    public void CoreReferencesNeitherPowerShellNorTheCommands()
    {
        var scan = CoreScan.Value;
        _out.WriteLine($"CryoEmPS.Core references the assemblies: {string.Join(", ", scan.AssemblyReferences.Order())}");
        scan.Notes.ForEach(_out.WriteLine);
        var badAssemblies = scan.AssemblyReferences.Where(IsForbiddenForCore).ToList();
        Assert.True(badAssemblies.Count == 0, "CryoEmPS.Core must not reference PowerShell or the cmdlet assembly, but references: "
            + string.Join(", ", badAssemblies) + ". Keep PowerShell types in src/CryoEmPS.Commands.");
        var badTypes = scan.TypeReferences.Concat(scan.DefinedTypes).Where(t => IsForbiddenForCore(t.Namespace)).Select(t => t.FullName)
            .Distinct().Order().ToList();
        Assert.True(badTypes.Count == 0, "CryoEmPS.Core must not use PowerShell or CryoEmPS.Commands types, but uses: "
            + string.Join(", ", badTypes.Take(ExamplesPerArrow)));
        var fromCore = scan.Uses.Keys.Where(k => IsForbiddenForCore(k.To.Namespace) || k.To.Assembly == CommandsAssemblyName).ToList();
        Assert.True(fromCore.Count == 0, "Core → Commands/PowerShell: " + string.Join("; ", fromCore.Take(ExamplesPerArrow)
            .Select(k => $"{k.From.FullName} → {k.To.FullName}")));
    }

    [CommandsBuiltFact]
    public void CommandsUseOnlyCoreFoldersOfTheTable()
    {
        var path = CommandsAssembly.Path!;
        _out.WriteLine($"Commands assembly: {path}");
        var commands = AssemblyScan.Read(path);
        commands.Notes.ForEach(_out.WriteLine);
        Assert.Equal(CommandsAssemblyName, commands.AssemblyName);
        Assert.Contains(CoreScan.Value.AssemblyName, commands.AssemblyReferences);
        var byFolder = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        var problems = new StringBuilder();
        foreach (var (from, to) in commands.Uses.Keys)
        {
            if (from.Assembly != commands.AssemblyName || to.Assembly == commands.AssemblyName)
            {
                continue;
            }
            var folder = to.Namespace == "CryoEmPS.Core" || to.Namespace.StartsWith("CryoEmPS.Core.", StringComparison.Ordinal)
                ? CoreFolder(to.Namespace)!
                : null;
            if (folder == null)
            {
                continue;
            }
            if (!byFolder.TryGetValue(folder, out var pairs))
            {
                byFolder[folder] = pairs = new SortedSet<string>(StringComparer.Ordinal);
            }
            pairs.Add($"{from.FullName} → {to.FullName}");
            if (!Allowed.ContainsKey(folder))
            {
                problems.AppendLine($"{from.FullName} → {to.FullName}: '{folder}' is not a folder of the table.");
            }
        }
        _out.WriteLine("Commands → Core folder (type pairs):");
        foreach (var (folder, pairs) in byFolder)
        {
            _out.WriteLine($"  Commands → {folder,-15} {pairs.Count,4}");
        }
        Assert.NotEmpty(byFolder);
        Assert.True(problems.Length == 0, problems.ToString());
        Assert.DoesNotContain(CommandsAssemblyName, CoreScan.Value.AssemblyReferences);
    }

    /// <summary>
    /// The scan is not blind: EStep (Reconstruction/) reaches Numerics/ in two ways that no signature, field, base type or
    /// attribute shows: it calls <c>LaneWidth</c> inside method bodies (a property getter and the precision switch), and it
    /// names <c>VectorLanes&lt;T&gt;</c> only as a type argument of <c>new EStepKernel&lt;T, VectorLanes&lt;T&gt;&gt;(…)</c>
    /// inside a generic method body (a MemberRef on a TypeSpec). If EStep is rewritten so that these uses move or vanish,
    /// pick another pair from this test's output that is seen only in method bodies.
    /// </summary>
    [Fact]
    public void IlScanFindsArrowsThatOnlyMethodBodiesMake()
    {
        var scan = CoreScan.Value;
        _out.WriteLine($"{scan.MethodBodies} method bodies, {scan.Instructions} IL instructions, {scan.Tokens} metadata tokens resolved.");
        static bool CrossFolder((TypeKey From, TypeKey To) pair) =>
            CoreFolder(pair.From.Namespace) is { } from && CoreFolder(pair.To.Namespace) is { } to && from != to;
        var bodyOnly = scan.Uses.Where(u => u.Value == UseSite.Body && CrossFolder(u.Key))
            .Select(u => $"{u.Key.From.FullName} → {u.Key.To.FullName}").Order().ToList();
        int all = scan.Uses.Keys.Count(CrossFolder);
        _out.WriteLine($"{bodyOnly.Count} of {all} cross-folder type pairs are seen only in method bodies:");
        foreach (var pair in bodyOnly)
        {
            _out.WriteLine("  " + pair);
        }
        var estep = scan.DefinedTypes.Single(t => t.FullName == "CryoEmPS.Core.Reconstruction.EStep");
        foreach (var name in new[] { "CryoEmPS.Core.Numerics.LaneWidth", "CryoEmPS.Core.Numerics.VectorLanes`1" })
        {
            var target = scan.DefinedTypes.Single(t => t.FullName == name);
            Assert.True(scan.Uses.TryGetValue((estep, target), out var origin), $"The scan missed EStep → {name}.");
            Assert.True(origin == UseSite.Body, $"EStep → {name} was expected only in method bodies, but was seen: {origin}.");
        }
        Assert.NotEmpty(bodyOnly);
    }

    [Fact]
    public void IlWalkerStepsOverEveryOperandSize()
    {
        // ECMA-335 III: nop; ldarg.s 1 (1-byte operand); ldc.i8 (8); ldc.r4 (4); switch with 2 targets (4 + 2·4);
        // ldarg 0x0001 (0xFE 0x09, 2); initobj token (0xFE 0x15, 4); br.s (1); call token (4); ret.
        byte[] il =
        [
            0x00,
            0x0E, 0x01,
            0x21, 1, 2, 3, 4, 5, 6, 7, 8,
            0x22, 0, 0, 0x80, 0x3F,
            0x45, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0xFE, 0x09, 0x01, 0x00,
            0xFE, 0x15, 0x05, 0x00, 0x00, 0x02,
            0x2B, 0x00,
            0x28, 0x01, 0x00, 0x00, 0x06,
            0x2A,
        ];
        var offsets = new List<int>();
        var tokens = new List<int>();
        int count = IlWalker.Walk(il, (offset, _) => offsets.Add(offset), tokens.Add);
        Assert.Equal(10, count);
        Assert.Equal([0, 1, 3, 12, 17, 30, 34, 40, 42, 47], offsets);
        Assert.Equal([0x02000005, 0x06000001], tokens);
        Assert.Throws<InvalidDataException>(() => IlWalker.Walk([0x45, 3, 0, 0, 0, 0], null, null));
        Assert.Throws<InvalidDataException>(() => IlWalker.Walk([0xFE, 0xF0], null, null));
    }

    // ---- Measured arrows ----------------------------------------------------------------------------------------------

    /// <summary>
    /// (from folder, to folder) → the distinct (outermost type → outermost type) pairs behind it, with where they were seen.
    /// </summary>
    private static Dictionary<(string From, string To), List<(TypeKey From, TypeKey To, UseSite Site)>> CoreArrows()
    {
        var scan = CoreScan.Value;
        var arrows = new Dictionary<(string From, string To), List<(TypeKey From, TypeKey To, UseSite Site)>>();
        foreach (var ((from, to), origin) in scan.Uses)
        {
            if (from.Assembly != scan.AssemblyName || to.Assembly != scan.AssemblyName)
            {
                continue;
            }
            var fromFolder = CoreFolder(from.Namespace);
            var toFolder = CoreFolder(to.Namespace);
            if (fromFolder == null || toFolder == null || fromFolder == toFolder)
            {
                continue;
            }
            if (!arrows.TryGetValue((fromFolder, toFolder), out var pairs))
            {
                arrows[(fromFolder, toFolder)] = pairs = [];
            }
            pairs.Add((from, to, origin));
        }
        foreach (var pairs in arrows.Values)
        {
            pairs.Sort((a, b) => string.CompareOrdinal(a.From.FullName + " " + a.To.FullName, b.From.FullName + " " + b.To.FullName));
        }
        return arrows;
    }

    /// <summary>CryoEmPS.Core.X(.Y…) → X; CryoEmPS.Core → "Core root"; anything else → null (not a Core folder).</summary>
    private static string? CoreFolder(string ns)
    {
        const string prefix = "CryoEmPS.Core.";
        if (ns == "CryoEmPS.Core")
        {
            return CoreRoot;
        }
        if (!ns.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }
        var rest = ns[prefix.Length..];
        int dot = rest.IndexOf('.');
        return dot < 0 ? rest : rest[..dot];
    }

    private static string Describe(Dictionary<(string From, string To), List<(TypeKey From, TypeKey To, UseSite Site)>> arrows)
    {
        var text = new StringBuilder("Measured arrows of CryoEmPS.Core ");
        text.Append("(folder → folder: distinct outermost-type pairs; in parentheses those seen only in method bodies):");
        text.AppendLine();
        foreach (var from in arrows.Keys.Select(k => k.From).Distinct().OrderBy(f => Array.IndexOf(Layers, f)))
        {
            var row = arrows.Where(a => a.Key.From == from).OrderBy(a => Array.IndexOf(Layers, a.Key.To))
                .Select(a => $"{a.Key.To} {a.Value.Count} ({a.Value.Count(p => p.Site == UseSite.Body)})");
            text.AppendLine($"  {from,-15} → {string.Join(", ", row)}");
        }
        foreach (var folder in Layers.Where(f => !arrows.Keys.Any(k => k.From == f)))
        {
            text.AppendLine($"  {folder,-15} → (nothing)");
        }
        text.Append(FindCycle(arrows.Keys) is { } cycle ? "Cycle: " + string.Join(" → ", cycle) : "Acyclic.");
        return text.ToString();
    }

    private static void AppendExamples(StringBuilder text, List<(TypeKey From, TypeKey To, UseSite Site)> pairs)
    {
        foreach (var (from, to, origin) in pairs.Take(ExamplesPerArrow))
        {
            var where = origin switch
            {
                UseSite.Body => "in a method body",
                UseSite.Declaration => "in a declaration",
                _ => "in declarations and bodies",
            };
            text.AppendLine($"    {from.FullName} → {to.FullName} ({where})");
        }
        if (pairs.Count > ExamplesPerArrow)
        {
            text.AppendLine($"    … and {pairs.Count - ExamplesPerArrow} more");
        }
    }

    /// <summary>A cycle as a closed path (first = last), or null when the graph is acyclic.</summary>
    private static List<string>? FindCycle(IEnumerable<(string From, string To)> edges)
    {
        var next = edges.GroupBy(e => e.From).ToDictionary(g => g.Key, g => g.Select(e => e.To).Distinct().Order().ToList());
        var state = new Dictionary<string, int>();   // 1 = on the current path, 2 = done
        var path = new List<string>();
        List<string>? Visit(string node)
        {
            state[node] = 1;
            path.Add(node);
            foreach (var to in next.GetValueOrDefault(node) ?? [])
            {
                if (state.GetValueOrDefault(to) == 1)
                {
                    return [.. path.Skip(path.IndexOf(to)), to];
                }
                if (state.GetValueOrDefault(to) == 0 && Visit(to) is { } found)
                {
                    return found;
                }
            }
            path.RemoveAt(path.Count - 1);
            state[node] = 2;
            return null;
        }
        foreach (var node in next.Keys.Order())
        {
            if (state.GetValueOrDefault(node) == 0 && Visit(node) is { } cycle)
            {
                return cycle;
            }
        }
        return null;
    }
}

/// <summary>Where a type pair was seen: in declarations (signatures, attributes, base types…), in method bodies, or both.</summary>
[Flags]
internal enum UseSite
{
    Declaration = 1,
    Body = 2,
}

/// <summary>A type by its outermost declaring type: assembly (as referenced), namespace and name.</summary>
internal readonly record struct TypeKey(string Assembly, string Namespace, string Name)
{
    public string FullName => Namespace.Length == 0 ? Name : Namespace + "." + Name;

    public override string ToString() => $"{FullName} [{Assembly}]";
}

/// <summary>Locates src/CryoEmPS.Commands/bin/&lt;Configuration&gt;/net8.0/CryoEmPS.dll from the test assembly's folder.</summary>
file static class CommandsAssembly
{
    public static readonly string? Path = Find();

    public static string SkipMessage =>
        "src/CryoEmPS.Commands/bin/<Configuration>/net8.0/CryoEmPS.dll is not built: run " +
        "`dotnet build src/CryoEmPS.Commands/CryoEmPS.Commands.csproj -c Release` first (this test reads the compiled cmdlet assembly).";

    private static string? Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        // .../tests/CryoEmPS.Core.Tests/bin/<Configuration>/<tfm>/: prefer the same configuration.
        var configuration = dir.Parent?.Name;
        while (dir != null && !File.Exists(System.IO.Path.Combine(dir.FullName, "CryoEmPS.sln")))
        {
            dir = dir.Parent;
        }
        if (dir == null)
        {
            return null;
        }
        var bin = System.IO.Path.Combine(dir.FullName, "src", "CryoEmPS.Commands", "bin");
        var candidates = new[] { configuration, "Release", "Debug" }.Where(c => !string.IsNullOrEmpty(c))
            .Select(c => System.IO.Path.Combine(bin, c!, "net8.0", "CryoEmPS.dll")).Where(File.Exists).ToList();
        return candidates.FirstOrDefault();
    }
}

file sealed class CommandsBuiltFactAttribute : FactAttribute
{
    public CommandsBuiltFactAttribute()
    {
        if (CommandsAssembly.Path == null)
        {
            Skip = CommandsAssembly.SkipMessage;
        }
    }
}

/// <summary>
/// Walks IL instruction by instruction (ECMA-335 partition III). The operand-size table comes from
/// <see cref="OpCodes"/>, which lists every one-byte opcode and every two-byte (0xFE-prefixed) opcode with its operand
/// type; switch carries a 4-byte count n and then n 4-byte targets. Unknown opcodes and truncated operands throw, so a
/// walk never silently drifts off the instruction boundaries.
/// </summary>
internal static class IlWalker
{
    private static readonly OperandType?[] OneByte = new OperandType?[256];
    private static readonly OperandType?[] TwoByte = new OperandType?[256];

    static IlWalker()
    {
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var op = (OpCode)field.GetValue(null)!;
            ushort value = unchecked((ushort)op.Value);
            if (op.Size == 1 && value != 0xFE)
            {
                OneByte[value] = op.OperandType;
            }
            else if (op.Size == 2 && value >> 8 == 0xFE)
            {
                TwoByte[value & 0xFF] = op.OperandType;
            }
        }
    }

    /// <summary>Calls <paramref name="instruction"/> (offset, opcode) for each instruction and <paramref name="token"/> for each
    /// metadata token operand (field, method, type, signature, ldtoken); returns the instruction count.</summary>
    public static int Walk(byte[] il, Action<int, int>? instruction, Action<int>? token)
    {
        int at = 0;
        int count = 0;
        while (at < il.Length)
        {
            int start = at;
            int code = il[at++];
            OperandType? kind;
            if (code == 0xFE)
            {
                Need(il, at, 1, start);
                code = 0xFE00 | il[at++];
                kind = TwoByte[code & 0xFF];
            }
            else
            {
                kind = OneByte[code];
            }
            if (kind == null)
            {
                throw new InvalidDataException($"Unknown IL opcode 0x{code:X} at offset {start}.");
            }
            instruction?.Invoke(start, code);
            count++;
            int size = kind switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineBrTarget or OperandType.InlineField or OperandType.InlineI or OperandType.InlineMethod
                    or OperandType.InlineSig or OperandType.InlineString or OperandType.InlineTok or OperandType.InlineType
                    or OperandType.ShortInlineR => 4,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * SwitchCount(il, at, start),
                _ => throw new InvalidDataException($"Unsupported operand type {kind} of opcode 0x{code:X} at offset {start}."),
            };
            Need(il, at, size, start);
            if (kind is OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineSig or OperandType.InlineTok
                or OperandType.InlineType)
            {
                token?.Invoke(BitConverter.ToInt32(il, at));
            }
            at += size;
        }
        return count;
    }

    private static int SwitchCount(byte[] il, int at, int start)
    {
        Need(il, at, 4, start);
        uint n = BitConverter.ToUInt32(il, at);
        if (n > (uint)(il.Length / 4))
        {
            throw new InvalidDataException($"switch at offset {start} claims {n} targets in a {il.Length}-byte body.");
        }
        return (int)n;
    }

    private static void Need(byte[] il, int at, int size, int start)
    {
        if (at + size > il.Length)
        {
            throw new InvalidDataException($"The IL instruction at offset {start} runs past the end of the body ({il.Length} bytes).");
        }
    }
}

/// <summary>
/// Every type each type of one assembly references, read from its metadata with System.Reflection.Metadata (nothing is
/// loaded or run). Keys are outermost types, so nested and compiler-generated types count for their declaring type.
/// </summary>
internal sealed partial class AssemblyScan : ISignatureTypeProvider<AssemblyScan.Unit, object?>
{
    private readonly PEReader _pe;
    private readonly MetadataReader _md;
    private readonly Dictionary<string, TypeKey> _definedByName = new(StringComparer.Ordinal);
    private readonly HashSet<TypeKey> _compilerGenerated = [];
    private readonly CustomAttributeTypes _attributeTypes;
    private TypeKey _source;
    private UseSite _site;

    private AssemblyScan(PEReader pe)
    {
        _pe = pe;
        _md = pe.GetMetadataReader();
        AssemblyName = _md.GetString(_md.GetAssemblyDefinition().Name);
        AssemblyReferences = _md.AssemblyReferences.Select(h => _md.GetString(_md.GetAssemblyReference(h).Name)).ToList();
        TypeReferences = _md.TypeReferences.Select(Key).Distinct().ToList();
        DefinedTypes = _md.TypeDefinitions.Where(h => _md.GetTypeDefinition(h).GetDeclaringType().IsNil).Select(Key).ToList();
        foreach (var h in _md.TypeDefinitions)
        {
            _definedByName[NestedName(h)] = Key(h);
        }
        _attributeTypes = new CustomAttributeTypes(this);
    }

    public readonly struct Unit;

    public string AssemblyName { get; }

    public IReadOnlyList<string> AssemblyReferences { get; }

    /// <summary>Every TypeRef row (outermost types), whether or not a scanned member uses it.</summary>
    public IReadOnlyList<TypeKey> TypeReferences { get; }

    /// <summary>The outermost types defined in the assembly.</summary>
    public IReadOnlyList<TypeKey> DefinedTypes { get; }

    /// <summary>(outermost type → outermost type it references) → where it was seen. Self-references are left out.</summary>
    public Dictionary<(TypeKey From, TypeKey To), UseSite> Uses { get; } = [];

    public int MethodBodies { get; private set; }

    public int Instructions { get; private set; }

    public int Tokens { get; private set; }

    /// <summary>Attribute arguments the scan could not decode exactly (printed by the tests).</summary>
    public List<string> Notes { get; } = [];

    public static AssemblyScan Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream, PEStreamOptions.PrefetchEntireImage);
        var scan = new AssemblyScan(pe);
        scan.ScanAll();
        return scan;
    }

    /// <summary>
    /// Types the compiler emits outside the source's namespaces (&lt;Module&gt;, &lt;PrivateImplementationDetails&gt;,
    /// embedded attributes such as NullableAttribute).
    /// </summary>
    public bool IsCompilerEmitted(TypeKey type) => type.Name.StartsWith('<') || _compilerGenerated.Contains(type);

    private void ScanAll()
    {
        _source = new TypeKey(AssemblyName, "", "<assembly>");
        _site = UseSite.Declaration;
        Attributes(_md.GetAssemblyDefinition().GetCustomAttributes());
        Attributes(_md.GetModuleDefinition().GetCustomAttributes());
        foreach (var h in _md.TypeDefinitions)
        {
            ScanType(h);
        }
    }

    private void ScanType(TypeDefinitionHandle handle)
    {
        var type = _md.GetTypeDefinition(handle);
        _source = Key(handle);
        _site = UseSite.Declaration;
        foreach (var ca in type.GetCustomAttributes())
        {
            var name = AttributeTypeName(_md.GetCustomAttribute(ca));
            if (name is "System.Runtime.CompilerServices.CompilerGeneratedAttribute" or "Microsoft.CodeAnalysis.EmbeddedAttribute"
                && type.GetDeclaringType().IsNil)
            {
                _compilerGenerated.Add(_source);
            }
        }
        Attributes(type.GetCustomAttributes());
        Entity(type.BaseType);
        foreach (var i in type.GetInterfaceImplementations())
        {
            var impl = _md.GetInterfaceImplementation(i);
            Entity(impl.Interface);
            Attributes(impl.GetCustomAttributes());
        }
        GenericParameters(type.GetGenericParameters());
        foreach (var f in type.GetFields())
        {
            var field = _md.GetFieldDefinition(f);
            field.DecodeSignature(this, null);
            Attributes(field.GetCustomAttributes());
        }
        foreach (var p in type.GetProperties())
        {
            var property = _md.GetPropertyDefinition(p);
            property.DecodeSignature(this, null);
            Attributes(property.GetCustomAttributes());
        }
        foreach (var e in type.GetEvents())
        {
            var ev = _md.GetEventDefinition(e);
            Entity(ev.Type);
            Attributes(ev.GetCustomAttributes());
        }
        foreach (var m in type.GetMethodImplementations())
        {
            var impl = _md.GetMethodImplementation(m);
            Entity(impl.MethodBody);
            Entity(impl.MethodDeclaration);
        }
        foreach (var m in type.GetMethods())
        {
            ScanMethod(m);
        }
    }

    private void ScanMethod(MethodDefinitionHandle handle)
    {
        var method = _md.GetMethodDefinition(handle);
        _site = UseSite.Declaration;
        method.DecodeSignature(this, null);
        Attributes(method.GetCustomAttributes());
        foreach (var p in method.GetParameters())
        {
            Attributes(_md.GetParameter(p).GetCustomAttributes());
        }
        GenericParameters(method.GetGenericParameters());
        if (method.RelativeVirtualAddress == 0)
        {
            return;
        }
        _site = UseSite.Body;
        var body = _pe.GetMethodBody(method.RelativeVirtualAddress);
        MethodBodies++;
        if (!body.LocalSignature.IsNil)
        {
            Entity(body.LocalSignature);
        }
        foreach (var region in body.ExceptionRegions)
        {
            if (region.Kind == ExceptionRegionKind.Catch)
            {
                Entity(region.CatchType);
            }
        }
        var il = body.GetILBytes() ?? [];
        try
        {
            Instructions += IlWalker.Walk(il, null, token =>
            {
                Tokens++;
                Entity(MetadataTokens.EntityHandle(token));
            });
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{_source.FullName}.{_md.GetString(method.Name)}: {ex.Message}", ex);
        }
    }

    private void GenericParameters(GenericParameterHandleCollection parameters)
    {
        foreach (var g in parameters)
        {
            var parameter = _md.GetGenericParameter(g);
            Attributes(parameter.GetCustomAttributes());
            foreach (var c in parameter.GetConstraints())
            {
                var constraint = _md.GetGenericParameterConstraint(c);
                Entity(constraint.Type);
                Attributes(constraint.GetCustomAttributes());
            }
        }
    }

    private void Attributes(CustomAttributeHandleCollection attributes)
    {
        foreach (var h in attributes)
        {
            var ca = _md.GetCustomAttribute(h);
            Entity(ca.Constructor);
            CustomAttributeValue<CustomAttributeTypes.CaType> value;
            try
            {
                value = ca.DecodeValue(_attributeTypes);
            }
            catch (BadImageFormatException ex)
            {
                Notes.Add($"{_source.FullName}: attribute {AttributeTypeName(ca)} not decoded ({ex.Message})");
                continue;
            }
            foreach (var argument in value.FixedArguments)
            {
                TypeArguments(argument.Type, argument.Value);
            }
            foreach (var argument in value.NamedArguments)
            {
                TypeArguments(argument.Type, argument.Value);
            }
        }
    }

    /// <summary>typeof(X) arguments of attributes are stored as type-name strings: map the names back to types.</summary>
    private void TypeArguments(CustomAttributeTypes.CaType type, object? value)
    {
        if (value is ImmutableArray<CustomAttributeTypedArgument<CustomAttributeTypes.CaType>> array)
        {
            foreach (var element in array)
            {
                TypeArguments(element.Type, element.Value);
            }
        }
        else if (type.IsSystemType && value is string name)
        {
            foreach (Match match in TypeNamePattern().Matches(name))
            {
                var full = match.Value;
                if (_definedByName.TryGetValue(full, out var defined))
                {
                    Add(defined);
                    continue;
                }
                var outer = full.Split('+')[0];
                int dot = outer.LastIndexOf('.');
                if (dot > 0)
                {
                    var ns = outer[..dot];
                    var assembly = ns == "CryoEmPS.Core" || ns.StartsWith("CryoEmPS.Core.", StringComparison.Ordinal) ? "CryoEmPS.Core"
                        : ns.StartsWith("CryoEmPS.Commands", StringComparison.Ordinal) ? "CryoEmPS" : "?";
                    Add(new TypeKey(assembly, ns, outer[(dot + 1)..]));
                }
            }
        }
    }

    [GeneratedRegex(@"[A-Za-z_][\w`]*(?:\.[A-Za-z_][\w`]*)*(?:\+[A-Za-z_<][\w<>`]*)*")]
    private static partial Regex TypeNamePattern();

    /// <summary>Records the types behind any metadata token: types, members (declaring type + signature), specs, signatures.</summary>
    private void Entity(EntityHandle handle)
    {
        if (handle.IsNil)
        {
            return;
        }
        switch (handle.Kind)
        {
            case HandleKind.TypeDefinition:
                Add(Key((TypeDefinitionHandle)handle));
                break;
            case HandleKind.TypeReference:
                Add(Key((TypeReferenceHandle)handle));
                break;
            case HandleKind.TypeSpecification:
                _md.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(this, null);
                break;
            case HandleKind.MethodDefinition:
                var method = _md.GetMethodDefinition((MethodDefinitionHandle)handle);
                Add(Key(method.GetDeclaringType()));
                method.DecodeSignature(this, null);
                break;
            case HandleKind.FieldDefinition:
                var field = _md.GetFieldDefinition((FieldDefinitionHandle)handle);
                Add(Key(field.GetDeclaringType()));
                field.DecodeSignature(this, null);
                break;
            case HandleKind.MemberReference:
                var member = _md.GetMemberReference((MemberReferenceHandle)handle);
                Entity(member.Parent);
                if (member.GetKind() == MemberReferenceKind.Method)
                {
                    member.DecodeMethodSignature(this, null);
                }
                else
                {
                    member.DecodeFieldSignature(this, null);
                }
                break;
            case HandleKind.MethodSpecification:
                var spec = _md.GetMethodSpecification((MethodSpecificationHandle)handle);
                Entity(spec.Method);
                spec.DecodeSignature(this, null);
                break;
            case HandleKind.StandaloneSignature:
                var signature = _md.GetStandaloneSignature((StandaloneSignatureHandle)handle);
                if (signature.GetKind() == StandaloneSignatureKind.LocalVariables)
                {
                    signature.DecodeLocalSignature(this, null);
                }
                else
                {
                    signature.DecodeMethodSignature(this, null);
                }
                break;
            case HandleKind.ModuleReference:
            case HandleKind.ModuleDefinition:
                break;
            default:
                throw new InvalidDataException($"{_source.FullName}: unexpected metadata token kind {handle.Kind}.");
        }
    }

    private void Add(TypeKey target)
    {
        if (target == _source)
        {
            return;
        }
        var key = (_source, target);
        Uses[key] = Uses.GetValueOrDefault(key) | _site;
    }

    private TypeKey Key(TypeDefinitionHandle handle)
    {
        var type = _md.GetTypeDefinition(handle);
        while (!type.GetDeclaringType().IsNil)
        {
            handle = type.GetDeclaringType();
            type = _md.GetTypeDefinition(handle);
        }
        return new TypeKey(AssemblyName, _md.GetString(type.Namespace), _md.GetString(type.Name));
    }

    private TypeKey Key(TypeReferenceHandle handle)
    {
        var type = _md.GetTypeReference(handle);
        while (type.ResolutionScope.Kind == HandleKind.TypeReference)
        {
            type = _md.GetTypeReference((TypeReferenceHandle)type.ResolutionScope);
        }
        var assembly = type.ResolutionScope.Kind == HandleKind.AssemblyReference
            ? _md.GetString(_md.GetAssemblyReference((AssemblyReferenceHandle)type.ResolutionScope).Name)
            : AssemblyName;
        return new TypeKey(assembly, _md.GetString(type.Namespace), _md.GetString(type.Name));
    }

    /// <summary>Namespace.Outer+Inner, the form typeof arguments are stored in.</summary>
    private string NestedName(TypeDefinitionHandle handle)
    {
        var type = _md.GetTypeDefinition(handle);
        var name = _md.GetString(type.Name);
        if (!type.GetDeclaringType().IsNil)
        {
            return NestedName(type.GetDeclaringType()) + "+" + name;
        }
        var ns = _md.GetString(type.Namespace);
        return ns.Length == 0 ? name : ns + "." + name;
    }

    private string AttributeTypeName(CustomAttribute ca)
    {
        EntityHandle parent = ca.Constructor.Kind == HandleKind.MethodDefinition
            ? _md.GetMethodDefinition((MethodDefinitionHandle)ca.Constructor).GetDeclaringType()
            : _md.GetMemberReference((MemberReferenceHandle)ca.Constructor).Parent;
        return parent.Kind switch
        {
            HandleKind.TypeDefinition => NestedName((TypeDefinitionHandle)parent),
            HandleKind.TypeReference => ReferenceName((TypeReferenceHandle)parent),
            _ => "?",
        };
    }

    private string ReferenceName(TypeReferenceHandle handle)
    {
        var type = _md.GetTypeReference(handle);
        var name = _md.GetString(type.Name);
        if (type.ResolutionScope.Kind == HandleKind.TypeReference)
        {
            return ReferenceName((TypeReferenceHandle)type.ResolutionScope) + "+" + name;
        }
        var ns = _md.GetString(type.Namespace);
        return ns.Length == 0 ? name : ns + "." + name;
    }

    // ---- ISignatureTypeProvider: every type a signature names is recorded; the decoded value itself is not needed ----

    public Unit GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind)
    {
        Add(Key(handle));
        return default;
    }

    public Unit GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind)
    {
        Add(Key(handle));
        return default;
    }

    public Unit GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
        reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);

    public Unit GetPrimitiveType(PrimitiveTypeCode typeCode) => default;

    public Unit GetSZArrayType(Unit elementType) => default;

    public Unit GetArrayType(Unit elementType, ArrayShape shape) => default;

    public Unit GetByReferenceType(Unit elementType) => default;

    public Unit GetPointerType(Unit elementType) => default;

    public Unit GetPinnedType(Unit elementType) => default;

    public Unit GetGenericInstantiation(Unit genericType, ImmutableArray<Unit> typeArguments) => default;

    public Unit GetFunctionPointerType(MethodSignature<Unit> signature) => default;

    public Unit GetGenericMethodParameter(object? genericContext, int index) => default;

    public Unit GetGenericTypeParameter(object? genericContext, int index) => default;

    public Unit GetModifiedType(Unit modifier, Unit unmodifiedType, bool isRequired) => default;

    /// <summary>Decodes attribute blobs: knows which arguments are System.Type and the underlying type of enum arguments.</summary>
    private sealed class CustomAttributeTypes(AssemblyScan scan) : ICustomAttributeTypeProvider<CustomAttributeTypes.CaType>
    {
        public sealed record CaType(string Name, PrimitiveTypeCode? Primitive = null, TypeDefinitionHandle Definition = default,
            string? Assembly = null)
        {
            public bool IsSystemType => Name == "System.Type";
        }

        public CaType GetPrimitiveType(PrimitiveTypeCode typeCode) => new(typeCode.ToString(), typeCode);

        public CaType GetSystemType() => new("System.Type");

        public CaType GetSZArrayType(CaType elementType) => new(elementType.Name + "[]");

        public CaType GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) =>
            new(scan.NestedName(handle), Definition: handle);

        public CaType GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) =>
            new(scan.ReferenceName(handle), Assembly: scan.Key(handle).Assembly);

        public CaType GetTypeFromSerializedName(string name)
        {
            var plain = name.Split(',')[0].Trim();
            return scan._definedByName.ContainsKey(plain)
                ? new CaType(plain, Definition: scan._md.TypeDefinitions.First(h => scan.NestedName(h) == plain))
                : new CaType(plain, Assembly: name.Contains(',') ? name[(name.IndexOf(',') + 1)..].Split(',')[0].Trim() : null);
        }

        public bool IsSystemType(CaType type) => type.IsSystemType;

        public PrimitiveTypeCode GetUnderlyingEnumType(CaType type)
        {
            if (!type.Definition.IsNil)
            {
                foreach (var f in scan._md.GetTypeDefinition(type.Definition).GetFields())
                {
                    var field = scan._md.GetFieldDefinition(f);
                    if ((field.Attributes & System.Reflection.FieldAttributes.Static) == 0)
                    {
                        var blob = scan._md.GetBlobReader(field.Signature);
                        blob.ReadSignatureHeader();
                        return (PrimitiveTypeCode)(byte)blob.ReadSignatureTypeCode();
                    }
                }
            }
            var runtime = Type.GetType(type.Name) ?? (type.Assembly != null ? Type.GetType($"{type.Name}, {type.Assembly}") : null)
                ?? AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(type.Name)).FirstOrDefault(t => t != null);
            if (runtime?.IsEnum == true)
            {
                return Type.GetTypeCode(Enum.GetUnderlyingType(runtime)) switch
                {
                    TypeCode.SByte => PrimitiveTypeCode.SByte,
                    TypeCode.Byte => PrimitiveTypeCode.Byte,
                    TypeCode.Int16 => PrimitiveTypeCode.Int16,
                    TypeCode.UInt16 => PrimitiveTypeCode.UInt16,
                    TypeCode.UInt32 => PrimitiveTypeCode.UInt32,
                    TypeCode.Int64 => PrimitiveTypeCode.Int64,
                    TypeCode.UInt64 => PrimitiveTypeCode.UInt64,
                    _ => PrimitiveTypeCode.Int32,
                };
            }
            scan.Notes.Add($"enum {type.Name} ({type.Assembly}) not resolvable here: read as Int32");
            return PrimitiveTypeCode.Int32;
        }
    }
}
