# Walks every exported cmdlet: approved verb, OutputType, help example and synopsis, every parameter
# documented, -LiteralPath beside -Path, -WhatIf on writers, listed in CmdletsToExport.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Cmdlets = Get-Command -Module CryoEmPS -CommandType Cmdlet | ForEach-Object { @{ Name = $_.Name } }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Manifest = Import-PowerShellDataFile $script:ModulePath
    $script:Approved = (Get-Verb).Verb
    $script:Common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
}

Describe 'Module' {
    It 'exports every cmdlet the manifest lists, and nothing else' {
        $exported = (Get-Command -Module CryoEmPS -CommandType Cmdlet).Name | Sort-Object
        $listed = $script:Manifest.CmdletsToExport | Sort-Object
        $exported | Should -Be $listed
    }
    It 'has about_CryoEmPS help' {
        (Get-Help about_CryoEmPS | Out-String) | Should -Match 'CryoEmPS'
    }
    It 'parses every script in the repository without errors' {
        $root = Join-Path $PSScriptRoot '../..'
        $scripts = Get-ChildItem -Path $root -Recurse -Include '*.ps1', '*.psm1', '*.psd1' |
            Where-Object { $_.FullName -notmatch '[\\/](out|bin|obj)[\\/]' }
        $scripts.Count | Should -BeGreaterThan 3
        foreach ($s in $scripts) {
            $tokens = $null; $errors = $null
            [System.Management.Automation.Language.Parser]::ParseFile($s.FullName, [ref]$tokens, [ref]$errors) | Out-Null
            $errors | Should -BeNullOrEmpty -Because $s.FullName
        }
    }
    It 'passes PSScriptAnalyzer when it is installed' {
        if (-not (Get-Module -ListAvailable PSScriptAnalyzer)) { Set-ItResult -Skipped -Because 'PSScriptAnalyzer is not installed (not served by this registry)'; return }
        $r = Invoke-ScriptAnalyzer -Path (Join-Path $PSScriptRoot '../..') -Recurse -Severity Error
        $r | Should -BeNullOrEmpty
    }
}

Describe 'Cmdlet <Name>' -ForEach $script:Cmdlets {
    BeforeAll {
        $script:Cmd = Get-Command $Name
        $script:Help = Get-Help $Name -Full
    }
    It 'uses an approved verb' { $script:Approved | Should -Contain $script:Cmd.Verb }
    It 'declares an OutputType' { $script:Cmd.OutputType.Count | Should -BeGreaterThan 0 }
    It 'has a synopsis and at least one example' {
        $script:Help.Synopsis | Should -Not -BeNullOrEmpty
        $script:Help.Synopsis.Trim() | Should -Not -Match ('^' + [regex]::Escape($Name)) -Because 'a synopsis that is the syntax means there is no MAML help'
        @($script:Help.Examples.Example).Count | Should -BeGreaterThan 0
    }
    It 'documents every parameter' {
        $documented = @($script:Help.Parameters.Parameter | ForEach-Object { $_.Name })
        foreach ($p in $script:Cmd.Parameters.Keys) {
            if ($script:Common -contains $p) { continue }
            $documented | Should -Contain $p -Because "parameter -$p of $Name needs help"
        }
    }
    It 'offers -LiteralPath beside -Path' {
        if ($script:Cmd.Parameters.ContainsKey('Path')) {
            $script:Cmd.Parameters.Keys | Should -Contain 'LiteralPath'
            $script:Cmd.Parameters['LiteralPath'].Aliases | Should -Contain 'PSPath'
        }
    }
    It 'supports -WhatIf when it writes files' {
        if ($script:Cmd.Verb -in 'Export', 'Set', 'Remove', 'Out') {
            $script:Cmd.Parameters.Keys | Should -Contain 'WhatIf'
            $script:Cmd.Parameters.Keys | Should -Contain 'Force'
        }
    }
}
