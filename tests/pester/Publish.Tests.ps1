# The module as a user gets it: publish the built module to a local PSResource repository (a temporary folder), install it
# back with Install-PSResource and import it by name. Runs in a child PowerShell whose HOME and XDG folders are a temporary folder,
# so the repository registration and the installed module never touch the user's own.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:ModuleFolder = Split-Path -Parent (Resolve-Path $script:ModulePath)
}

Describe 'Publishing' {
    It 'the manifest carries what a gallery needs' {
        $m = Import-PowerShellDataFile $script:ModulePath
        $m.PrivateData.PSData.LicenseUri | Should -Match '^https://'
        $m.PrivateData.PSData.ProjectUri | Should -Match '^https://'
        $m.PrivateData.PSData.Tags | Should -Contain 'cryo-EM'
        $m.PrivateData.PSData.ReleaseNotes | Should -Not -BeNullOrEmpty
        $m.Description | Should -Not -BeNullOrEmpty
        Join-Path $script:ModuleFolder 'LICENSE' | Should -Exist
        Get-Content -Raw (Join-Path $script:ModuleFolder 'LICENSE') | Should -Match 'MIT License'
    }

    It 'publishes to a local repository, installs back and imports' {
        $root = Join-Path $TestDrive 'publish'
        $data = Join-Path $root 'xdg'
        $repo = Join-Path $root 'repo'
        New-Item -ItemType Directory -Path $data, $repo | Out-Null
        $scriptFile = Join-Path $root 'publish.ps1'
        @"
`$ErrorActionPreference = 'Stop'
Import-Module Microsoft.PowerShell.PSResourceGet
Register-PSResourceRepository -Name CryoEmPSLocal -Uri '$repo' -Trusted
Publish-PSResource -Path '$($script:ModuleFolder)' -Repository CryoEmPSLocal
Install-PSResource -Name CryoEmPS -Repository CryoEmPSLocal -Scope CurrentUser -TrustRepository -Quiet
Import-Module CryoEmPS
`$m = Get-Module CryoEmPS
`$v = New-EmVolume -Phantom -Size 7
`$v | Export-EmPicture -Path '$(Join-Path $root 'v.png')'
'RESULT|' + `$m.ModuleBase + '|' + `$m.Version + '|' + (Get-Command -Module CryoEmPS).Count + '|' + (Get-ChildItem '$repo' -Filter *.nupkg).Name
"@ | Set-Content -LiteralPath $scriptFile
        $pwshLine = Get-ChildPwsh
        $exe = $pwshLine[0]
        $argList = @($pwshLine | Select-Object -Skip 1)
        $argList += '-NoProfile', '-NonInteractive', '-File', $scriptFile
        # Install-PSResource -Scope CurrentUser goes under $HOME/.local/share/powershell/Modules, the repository list under
        # XDG_DATA_HOME and NuGet's settings under XDG_CONFIG_HOME: point all at the test folder. The folders must exist
        # (.NET's GetFolderPath returns "" for a missing one, and PSResourceGet would then write into the current folder),
        # and the child runs in the test folder.
        $xdg = @{ XDG_DATA_HOME = (Join-Path $data '.local/share'); XDG_CONFIG_HOME = (Join-Path $data '.config'); XDG_CACHE_HOME = (Join-Path $data '.cache'); HOME = $data }
        $xdg.Values | ForEach-Object { New-Item -ItemType Directory -Force -Path $_ | Out-Null }
        $saved = @{}
        foreach ($k in $xdg.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k) }
        Push-Location $root
        try {
            foreach ($k in $xdg.Keys) { [Environment]::SetEnvironmentVariable($k, $xdg[$k]) }
            $out = & $exe @argList 2>&1 | Out-String
        }
        finally {
            foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) }
            Pop-Location
        }
        Join-Path $root 'PSResourceGet' | Should -Not -Exist
        Join-Path $root 'NuGet' | Should -Not -Exist
        $line = ($out -split "`n" | Where-Object { $_ -like 'RESULT|*' } | Select-Object -First 1)
        $line | Should -Not -BeNullOrEmpty -Because $out
        $parts = $line.Trim() -split '\|'
        $parts[1] | Should -BeLike "$data*" -Because 'the module imported by name is the installed copy'
        $parts[2] | Should -Be (Import-PowerShellDataFile $script:ModulePath).ModuleVersion
        [int]$parts[3] | Should -Be @((Import-PowerShellDataFile $script:ModulePath).CmdletsToExport).Count
        $parts[4] | Should -BeLike 'CryoEmPS.*.nupkg'
        Join-Path $root 'v.png' | Should -Exist
    }
}
