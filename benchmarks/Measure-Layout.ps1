#requires -Version 7.0
<#
.SYNOPSIS
    Prints the source layout of CryoEmPS as three Markdown tables: lines per folder, references (arrows) between
    the folders of CryoEmPS.Core with the folder-level cycles, and the five largest methods.
.DESCRIPTION
    Text only, no Roslyn: comments, strings and char literals are blanked by a small scanner (newlines kept), then
    regular expressions and brace matching do the rest. bin/ and obj/ are skipped everywhere.
.PARAMETER Root
    The repository root (default: the parent of this script's folder).
.EXAMPLE
    dotnet pwsh -NoProfile -File ./benchmarks/Measure-Layout.ps1 > layout.txt
.EXAMPLE
    ./benchmarks/Measure-Layout.ps1 -Root /tmp/old
#>
[CmdletBinding()]
param([string] $Root = (Split-Path -Parent $PSScriptRoot))
Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'

$src = Join-Path $Root 'src'
$coreDir = Join-Path $src 'CryoEmPS.Core'
if (-not (Test-Path $coreDir -PathType Container)) { throw "No src/CryoEmPS.Core under '$Root'." }
$ordinal = [StringComparison]::Ordinal

# ---- Scanner: blank comments, strings and char literals (same length, newlines kept) --------------------------
function Skip-Char([string] $s, [int] $i) {   # $i at the opening quote; returns the index after the closing one
    if ($s[$i + 1] -eq '\') { return $s.IndexOf([char]"'", $i + 3) + 1 }
    return $i + 3
}
function Skip-String([string] $s, [int] $i) {   # $i at @, $ or "; handles "..", @"..", $"{..}", $@".."
    $verbatim = $false; $interp = $false; $depth = 0
    while ($s[$i] -ne '"') { if ($s[$i] -eq '@') { $verbatim = $true } else { $interp = $true }; $i++ }
    for ($i++; $i -lt $s.Length; $i++) {
        $c = $s[$i]
        if ($depth -gt 0) {   # inside an interpolation hole: code, which may hold literals and braces
            if ($c -eq '"' -or ($c -in '@', '$' -and $s[$i + 1] -eq '"')) { $i = (Skip-String $s $i) - 1 }
            elseif ($c -eq "'") { $i = (Skip-Char $s $i) - 1 }
            elseif ($c -eq '{') { $depth++ } elseif ($c -eq '}') { $depth-- }
        }
        elseif ($c -eq '\' -and -not $verbatim) { $i++ }
        elseif ($c -eq '"') { if ($verbatim -and $s[$i + 1] -eq '"') { $i++ } else { return $i + 1 } }
        elseif ($interp -and $c -eq '{') { if ($s[$i + 1] -eq '{') { $i++ } else { $depth = 1 } }
    }
    return $s.Length
}
function Get-CodeText([string] $text) {
    $s = $text + "`n`n"; $chars = $s.ToCharArray(); $i = 0
    while (($i = $s.IndexOfAny([char[]]'/"''@$', $i)) -ge 0) {
        $c = $s[$i]; $n = $s[$i + 1]
        if ($c -eq '/' -and $n -eq '/') { $end = $s.IndexOf([char]"`n", $i) }
        elseif ($c -eq '/' -and $n -eq '*') { $end = [Math]::Max($s.IndexOf('*/', $i + 2, $ordinal) + 2, $i + 2) }
        elseif ($c -eq '"' -or ($c -in '@', '$' -and ($n -eq '"' -or ($n -in '@', '$' -and $s[$i + 2] -eq '"')))) { $end = Skip-String $s $i }
        elseif ($c -eq "'") { $end = Skip-Char $s $i }
        else { $i++; continue }
        $blank = $s.Substring($i, $end - $i) -replace '[^\n]', ' '
        $blank.CopyTo(0, $chars, $i, $blank.Length); $i = $end
    }
    # preprocessor lines (#region, #if) are not code either
    [regex]::Replace([string]::new($chars), '(?m)^[ \t]*#[^\n]*', { param($m) ' ' * $m.Length })
}

# ---- Files and groups (each Core folder is a group; every other project under src is one group) ---------------
$known = 'Volumes', 'Rotations', 'Projection', 'Simulation', 'Reconstruction', 'Evaluation', 'IO', 'Native'
$coreFolders = @(Get-ChildItem $coreDir -Directory | Where-Object Name -NotIn 'bin', 'obj' |
    Sort-Object { $k = [array]::IndexOf($known, $_.Name); if ($k -lt 0) { 99 } else { $k } }, Name | ForEach-Object Name)
$files = @(Get-ChildItem $src -Filter *.cs -File -Recurse | ForEach-Object {
    $rel = [IO.Path]::GetRelativePath($src, $_.FullName) -replace '\\', '/'
    $parts = $rel.Split('/')
    if ($parts -contains 'bin' -or $parts -contains 'obj') { return }
    $inCore = $parts[0] -eq 'CryoEmPS.Core'
    $group = if (-not $inCore) { $parts[0] } elseif ($parts.Count -gt 2) { $parts[1] } else { 'CryoEmPS.Core (root)' }
    $text = [IO.File]::ReadAllText($_.FullName)
    $first = if ($inCore -and $parts.Count -gt 2) { 2 } else { 1 }
    [pscustomobject]@{ Group = $group; InCore = $first -eq 2; Name = $group + '/' + ($parts[$first..($parts.Count - 1)] -join '/')
        Lines = [IO.File]::ReadAllLines($_.FullName).Length; Code = Get-CodeText $text }
})
$groups = @($coreFolders) + @($files | Where-Object { -not $_.InCore } | ForEach-Object Group | Sort-Object -Unique |
    Sort-Object { $_ -ne 'CryoEmPS.Core (root)' }, { $_ })

function Out-Markdown([string[]] $Header, [object[]] $Rows, [string] $Align) {   # $Align: one l or r per column
    $w = foreach ($k in 0..($Header.Count - 1)) { @($Rows | ForEach-Object { "$($_[$k])".Length }) + $Header[$k].Length | Measure-Object -Maximum | ForEach-Object Maximum }
    $fmt = { param($r) '| ' + ((0..($Header.Count - 1) | ForEach-Object { if ($Align[$_] -eq 'r') { "$($r[$_])".PadLeft($w[$_]) } else { "$($r[$_])".PadRight($w[$_]) } }) -join ' | ') + ' |' }
    & $fmt $Header
    '|' + ((0..($Header.Count - 1) | ForEach-Object { if ($Align[$_] -eq 'r') { '-' * ($w[$_] + 1) + ':' } else { ':' + '-' * ($w[$_] + 1) } }) -join '|') + '|'
    foreach ($r in $Rows) { & $fmt $r }
}

# ---- 1. Lines per folder -----------------------------------------------------------------------------------------
$total = ($files | Measure-Object Lines -Sum).Sum
"## Lines per folder (src, .cs files, bin/ and obj/ excluded)`n"
$rows = @(foreach ($g in $groups) {
    $in = @($files | Where-Object Group -EQ $g); $n = ($in | Measure-Object Lines -Sum).Sum ?? 0
    , @($g, $in.Count, $n.ToString('N0'), ('{0:N1} %' -f (100 * $n / [Math]::Max($total, 1))))
})
Out-Markdown 'Folder', '.cs files', 'Lines', 'Share' ($rows + , @('**Total**', $files.Count, $total.ToString('N0'), '100.0 %')) 'lrrr'

# ---- 2. Arrows between Core folders ------------------------------------------------------------------------------
$declRx = '(?<mods>(?:\b(?:public|internal|private|protected|static|sealed|abstract|readonly|ref|unsafe|partial|file|new)\s+)*)' +
    '(?<![\w.])(?:class|struct|record|interface|enum)\s+(?:(?:class|struct)\s+)?(?<name>[A-Za-z_]\w*)'
$declared = @{}   # type name -> folders declaring it
foreach ($f in $files | Where-Object InCore) {
    $nsDepth = if ($f.Code -cmatch '\bnamespace\s+[\w.]+\s*;') { 0 } else { 1 }
    foreach ($m in [regex]::Matches($f.Code, $declRx)) {
        $modifiers = $m.Groups['mods'].Value; $name = $m.Groups['name'].Value; $prefix = $f.Code.Substring(0, $m.Index)
        $depth = [regex]::Matches($prefix, '\{').Count - [regex]::Matches($prefix, '\}').Count   # nested types without modifier are private
        $visible = $modifiers -match '\b(public|internal)\b' -or ($modifiers -notmatch '\b(private|protected|file)\b' -and $depth -le $nsDepth)
        if (-not $visible -or $name.Length -le 3 -or $name -in 'where', 'class', 'struct') { continue }
        $declared[$name] = @(@($declared[$name]) + $f.Group | Where-Object { $_ } | Sort-Object -Unique)
    }
}
$owner = @{}; foreach ($k in $declared.Keys) { if ($declared[$k].Count -eq 1) { $owner[$k] = $declared[$k][0] } }
# a simple type name, not after '.' (member access) nor before '=' (an initialized member of the same name)
$nameRx = if ($owner.Count) { '(?<![\w.])(' + (($owner.Keys | Sort-Object Length -Descending) -join '|') + ')\b(?!\s*=(?![=>]))' } else { '(?!)' }
$arrows = [ordered]@{}   # "A|B" -> number of files of A that reference B
foreach ($f in $files | Where-Object InCore) {
    $refs = [Collections.Generic.HashSet[string]]::new()
    foreach ($m in [regex]::Matches($f.Code, '(?m)^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?(?:global::)?CryoEmPS\.Core\.(\w+)')) { [void]$refs.Add($m.Groups[1].Value) }
    $body = $f.Code -creplace '(?m)^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?[\w.]+\s*;|\bnamespace\s+[\w.]+', ''   # directives are not uses
    foreach ($m in [regex]::Matches($body, 'CryoEmPS\.Core\.(\w+)\.')) { [void]$refs.Add($m.Groups[1].Value) }
    foreach ($m in [regex]::Matches($body, $nameRx)) { [void]$refs.Add($owner[$m.Groups[1].Value]) }
    foreach ($b in $refs) { if ($b -ne $f.Group -and $b -in $coreFolders) { $arrows["$($f.Group)|$b"] = 1 + ($arrows["$($f.Group)|$b"] ?? 0) } }
}
"`n## Arrows between CryoEmPS.Core folders (A → B: files of A that use B by using, qualified name or type name)`n"
$rows = @(foreach ($a in $coreFolders) { foreach ($b in $coreFolders) { if ($arrows.Contains("$a|$b")) {
    , @($a, '→', $b, "$($arrows["$a|$b"]) of $(@($files | Where-Object { $_.InCore -and $_.Group -eq $a }).Count)") } } })
if ($rows) { Out-Markdown 'From', '', 'To', 'Files' @($rows) 'lllr' } else { 'No arrows.' }

$script:cycles = [Collections.Generic.List[string]]::new()
function Find-Cycle([int] $start, [int[]] $path) {   # elementary cycles whose smallest folder index is $start
    foreach ($j in 0..($coreFolders.Count - 1)) {
        if (-not $arrows.Contains("$($coreFolders[$path[-1]])|$($coreFolders[$j])")) { continue }
        if ($j -eq $start) { $script:cycles.Add(((@($path) + $start | ForEach-Object { $coreFolders[$_] }) -join ' → ')) }
        elseif ($j -gt $start -and $path -notcontains $j) { Find-Cycle $start (@($path) + $j) }
    }
}
foreach ($s in 0..($coreFolders.Count - 1)) { Find-Cycle $s @($s) }
"`n### Folder-level cycles`n"
if (-not $cycles.Count) { 'No cycles.' }
$pairs = @($cycles | Where-Object { $_.Split(' → ').Count -eq 3 } | ForEach-Object { $p = $_.Split(' → '); "- $($p[0]) ⇄ $($p[1])" })
$longer = @($cycles | Where-Object { $_.Split(' → ').Count -gt 3 } | Sort-Object { $_.Split(' → ').Count }, { $_ })
$pairs
if ($longer) { "- $($longer.Count) longer cycle(s):"; $longer | Select-Object -First 20 | ForEach-Object { "  - $_" } }
if ($longer.Count -gt 20) { "  - … and $($longer.Count - 20) more" }

# ---- 3. Largest methods: brace matching over the blanked code ------------------------------------------------------
$access = '(?:(?:public|private|protected|internal|readonly)\s+)*'
$assign = '(?<![=!<>])=(?![=>])|=>'   # an assignment or a lambda/expression body, not ==, !=, <=, >=
function Get-SignatureStart([string] $header) { [regex]::Match($header, '^(?:\s|\[(?:[^\[\]]|\[[^\[\]]*\])*\])*').Length }
$keywords = 'public', 'private', 'protected', 'internal', 'static', 'readonly', 'unsafe', 'extern', 'override', 'virtual',
    'abstract', 'sealed', 'async', 'new', 'partial', 'implicit', 'explicit', 'base', 'this'
function Get-MemberName([string] $sig) {   # method: the first name before '(' that is no keyword; property: the last name
    $m = [regex]::Matches($sig, '(operator\s*[^\s(]+|[A-Za-z_]\w*)\s*(?:<(?:[^<>]|<[^<>]*>)*>)?\s*\(') |
        Where-Object { $_.Groups[1].Value -cnotin $keywords } | Select-Object -First 1
    if ($m) { $m.Groups[1].Value -replace '\s+', ' ' } elseif ($sig -match '\bthis\s*\[') { 'this[]' }
    elseif ($sig -match '([A-Za-z_]\w*)\s*$') { $Matches[1] } else { '?' }
}
function Remove-Parens([string] $t) { while ($t -match '\([^()]*\)') { $t = $t -replace '\([^()]*\)', '' }; $t }
$members = foreach ($f in $files) {
    $code = $f.Code; [int[]] $starts = @(0) + @([regex]::Matches($code, '\n') | ForEach-Object { $_.Index + 1 })
    $lineOf = { param($o) $k = [array]::BinarySearch($starts, [int]$o); if ($k -lt 0) { -$k - 1 } else { $k + 1 } }
    $stack = [Collections.Generic.List[object]]::new(); $hs = 0   # $hs: where the current header starts
    foreach ($m in [regex]::Matches($code, '[{};]')) {
        $i = $m.Index; $top = if ($stack.Count) { $stack[$stack.Count - 1] } else { $null }
        $kind = if ($top) { $top.Kind } else { 'ns' }; $type = if ($top) { $top.Type } else { '' }
        if ($m.Value -eq '}') {
            if (-not $top) { continue }
            $stack.RemoveAt($stack.Count - 1)
            if ($kind -eq 'member') { [pscustomobject]@{ Lines = (& $lineOf $i) - $top.Line + 1; File = $f.Name; Member = "$($top.Type).$($top.Name)" } }
            $outer = if ($stack.Count) { $stack[$stack.Count - 1].Kind } else { 'ns' }
            if ($outer -notin 'member', 'other' -and -not $top.Continues) { $hs = $i + 1 }
            continue
        }
        if ($kind -in 'member', 'other') { if ($m.Value -eq '{') { $stack.Add(@{ Kind = 'other'; Type = $type; Continues = $false }) }; continue }
        $header = $code.Substring($hs, $i - $hs); $skip = Get-SignatureStart $header
        $sig = $header.Substring($skip); $flat = Remove-Parens $sig; $line = & $lineOf ($hs + $skip)
        $ctx = @{ Kind = 'other'; Type = $type; Continues = $true; Line = $line; Name = '' }
        if ($m.Value -eq ';') {   # expression-bodied members end here
            if ($kind -eq 'prop' -and $sig -cmatch "^$access(get|set|init)\s*=>") {
                [pscustomobject]@{ Lines = (& $lineOf $i) - $line + 1; File = $f.Name; Member = "$type.$($top.Name).$($Matches[1])" } }
            elseif ($kind -eq 'type' -and $sig.Contains('=>')) {
                $before = $sig.Substring(0, $sig.IndexOf('=>'))
                if ((Remove-Parens $before) -notmatch $assign) {
                    [pscustomobject]@{ Lines = (& $lineOf $i) - $line + 1; File = $f.Name; Member = "$type.$(Get-MemberName $before)" } }
            }
            $hs = $i + 1; continue
        }
        if ($kind -eq 'prop') {
            if ($sig -cmatch "^$access(get|set|init|add|remove)\s*$") { $ctx.Kind = 'member'; $ctx.Name = "$($top.Name).$($Matches[1])" }
        }
        elseif ($sig -cmatch '(?<![\w.])(?:class|struct|record|interface|enum)\s+(?:(?:class|struct)\s+)?([A-Za-z_]\w*)') { $ctx.Kind = 'type'; $ctx.Type = $Matches[1] }
        elseif ($flat -match $assign) { }   # initializer or expression body: stays 'other', the header goes on
        elseif ($kind -eq 'ns') { $ctx.Kind = 'ns' }
        elseif ($sig.Contains('(')) { $ctx.Kind = 'member'; $ctx.Name = Get-MemberName $sig }
        else { $ctx.Kind = 'prop'; $ctx.Name = Get-MemberName $flat }
        if ($ctx.Kind -ne 'other') { $ctx.Continues = $false; $hs = $i + 1 }
        $stack.Add($ctx)
    }
}
"`n## Five largest methods (signature line to closing brace or ';'; ties at the cut included)`n"
$sorted = @($members | Sort-Object @{ Expression = 'Lines'; Descending = $true }, File, Member)
$cut = if ($sorted) { $sorted[[Math]::Min(4, $sorted.Count - 1)].Lines } else { 0 }
$rows = @($sorted | Where-Object Lines -GE $cut | ForEach-Object { $n = $_.Lines; , @((1 + @($sorted | Where-Object Lines -GT $n).Count), $n, $_.File, $_.Member) })
Out-Markdown 'Rank', 'Lines', 'File', 'Member' @($rows) 'rrll'
