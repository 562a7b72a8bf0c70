# Every example in every cmdlet's help must run as written, in an empty folder, without errors.
# Examples whose remarks start with "Long-running" are skipped (keep them few); they carry the paper's sizes.
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Examples = foreach ($c in Get-Command -Module CryoEmPS -CommandType Cmdlet) {
        $i = 0
        foreach ($ex in @((Get-Help $c.Name).examples.example)) {
            $i++
            $remarks = (@($ex.remarks) | ForEach-Object { $_.Text }) -join ' '
            @{ Name = $c.Name; Index = $i; Code = [string]$ex.code; Remarks = $remarks
               Long = $remarks -match '^\s*Long-running' }
        }
    }
    $script:Cmdlets = foreach ($g in $script:Examples | Group-Object { $_.Name }) {
        @{ Name = $g.Name; Runnable = @($g.Group | Where-Object { -not $_.Long }).Count }
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
}

Describe 'Help examples run as written' {
    It '<Name> example <Index>' -ForEach $script:Examples {
        if ($Long) { Set-ItResult -Skipped -Because 'the example is marked Long-running in its remarks'; return }
        $dir = Join-Path $TestDrive "$Name-$Index"
        New-Item -ItemType Directory -Path $dir | Out-Null
        Push-Location $dir
        try {
            $sb = [scriptblock]::Create($Code)
            $text = & {
                $ErrorActionPreference = 'Stop'
                $ProgressPreference = 'SilentlyContinue'
                & $sb 3>$null | Out-String -Width 120
            }
            $text | Should -Not -Match 'Exception calling' -Because 'an example must not end in a raw .NET exception'
        }
        finally { Pop-Location }
    }

    It '<Name> has an example that runs by default' -ForEach $script:Cmdlets {
        $Runnable | Should -BeGreaterThan 0
    }
}
