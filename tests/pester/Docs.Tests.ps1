# Every ErrorId the documentation names (README, about_CryoEmPS, the MAML help) must exist in the code, so a user who
# catches it by name catches something real.
BeforeDiscovery {
    $root = Join-Path $PSScriptRoot '../..'
    $script:Docs = @(
        Get-Item (Join-Path $root 'README.md')
        Get-Item (Join-Path $root 'module/en-US/about_CryoEmPS.help.txt')
        Get-ChildItem (Join-Path $root 'module/help') -Filter '*.xml'
    ) | ForEach-Object { @{ Name = $_.Name; Path = $_.FullName } }
}

BeforeAll {
    $root = Join-Path $PSScriptRoot '../..'
    $script:DocPaths = @((Join-Path $root 'README.md'), (Join-Path $root 'module/en-US/about_CryoEmPS.help.txt')) +
        @(Get-ChildItem (Join-Path $root 'module/help') -Filter '*.xml' | ForEach-Object FullName)
    $code = (Get-ChildItem (Join-Path $root 'src') -Recurse -Filter '*.cs' | Where-Object { $_.FullName -notmatch '[\\/](bin|obj)[\\/]' } |
        ForEach-Object { Get-Content -Raw -LiteralPath $_.FullName }) -join "`n"
    $literals = [regex]::Matches($code, '"([A-Z][A-Za-z0-9]+)"') | ForEach-Object { $_.Groups[1].Value }
    # Mrc + MrcErrorReason member (MrcFormatException.ErrorId).
    $enum = [regex]::Match($code, 'enum\s+MrcErrorReason\s*\{([^}]*)\}').Groups[1].Value
    $reasons = [regex]::Matches(($enum -replace '///[^\n]*', ''), '\b([A-Z][A-Za-z0-9]+)\b') | ForEach-Object { 'Mrc' + $_.Groups[1].Value }
    # The prefix-composed ids of the shared file plumbing (CryoEmCmdlet, ExportFileCmdletBase).
    $suffixes = 'AlreadyExists', 'FolderNotFound', 'PathIsFolder', 'WriteFailed', 'AccessDenied', 'PathHasWildcard', 'FileNotFound', 'InvalidPath'
    $composed = foreach ($p in $literals) { foreach ($s in $suffixes) { $p + $s } }
    $script:Known = [System.Collections.Generic.HashSet[string]]::new([string[]]@($literals + $reasons + $composed))

    # The ErrorIds a text names: the CamelCase words of the clause that follows "ErrorId" or "ErrorIds" (up to the end
    # of the sentence or of the enclosing parenthesis), leaving out names of cmdlets (X-Y) and of types (X.Y).
    function Get-DocumentedErrorId([string] $Text) {
        $Text = $Text -replace '<[^>]+>', ' ' -replace '&#x27;', "'" -replace '&quot;', '"' -replace '`', ''
        foreach ($m in [regex]::Matches($Text, '\bErrorIds?\b:?')) {
            $rest = $Text.Substring($m.Index + $m.Length)
            $depth = 0; $end = $rest.Length
            for ($i = 0; $i -lt $rest.Length; $i++) {
                $c = $rest[$i]
                if ($c -eq '(') { $depth++ }
                elseif ($c -eq ')') { if ($depth -eq 0) { $end = $i; break }; $depth-- }
                elseif ($c -eq '.' -and $depth -eq 0 -and ($i + 1 -ge $rest.Length -or [char]::IsWhiteSpace($rest[$i + 1]))) { $end = $i; break }
            }
            $clause = $rest.Substring(0, $end)

            foreach ($t in [regex]::Matches($clause, '(?<![-\w.])([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+)(?![-\w])')) { $t.Groups[1].Value }
        }
    }
}

Describe 'ErrorIds named in the documentation' {
    It 'the check finds ids and would catch one that does not exist' {
        @(Get-DocumentedErrorId 'Errors carry stable ErrorIds (for example `ExportEmVolumeAlreadyExists`); more.') | Should -Be @('ExportEmVolumeAlreadyExists')
        $script:Known.Contains('ExportEmVolumeAlreadyExists') | Should -BeFalse
        $script:Known.Contains('MrcFileAlreadyExists') | Should -BeTrue
        $script:Known.Contains('MrcTruncated') | Should -BeTrue
        @(Get-DocumentedErrorId 'ErrorIds: MrcTruncated (shorter than the header says), MrcInvalidHeader, StarFileNotFound. Export-EmVolume') |
            Should -Be @('MrcTruncated', 'MrcInvalidHeader', 'StarFileNotFound')
    }
    It 'finds ErrorIds in the documentation at all' {
        $all = foreach ($d in $script:DocPaths) { Get-DocumentedErrorId (Get-Content -Raw -LiteralPath $d) }
        @($all | Sort-Object -Unique).Count | Should -BeGreaterThan 20
    }
    It '<Name> names only ErrorIds that exist' -ForEach $script:Docs {
        $ids = @(Get-DocumentedErrorId (Get-Content -Raw -LiteralPath $Path) | Sort-Object -Unique)
        $missing = @($ids | Where-Object { -not $script:Known.Contains($_) })
        $missing | Should -BeNullOrEmpty -Because "$Name names ErrorIds that no code raises: $($missing -join ', ')"
    }
}
