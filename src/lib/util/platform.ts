/** This host's platform in OCI terms (GOOS/GOARCH names, as image indexes use). */
export function goArch(arch: string = process.arch): string {
  return ({x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips64el: 'mips64le'} as Record<string, string>)[arch] ?? arch;
}

export function goOs(platform: string = process.platform): string {
  return platform === 'win32' ? 'windows' : platform;
}

/** arm variant as the OCI image spec names it (v6, v7, v8); undefined elsewhere. */
export function goVariant(arch: string = process.arch): string | undefined {
  if (arch === 'arm64') return 'v8';
  if (arch === 'arm') {
    const v = (process.config.variables as {arm_version?: string}).arm_version;
    return v ? `v${v}` : 'v7';
  }
  return undefined;
}
