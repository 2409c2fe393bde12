import type { Command } from 'commander';
import { applyRules, cleanupPlan, cleanupRules, detectBackend, families } from '../../iptables/apply.ts';
import { command } from '../../iptables/backend.ts';
import { renderRules } from '../../iptables/rules.ts';
import { parseInitFlags, type InitFlags } from '../../iptables/settings.ts';
import { ExitCode } from '../exit-codes.ts';

interface InitOpts extends InitFlags {
  dryRun?: boolean;
  cleanup?: boolean;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description("capture the pod's traffic with iptables (nat table), as istio-iptables does")
    .option('-p, --proxy-port <port>', 'port outbound traffic is redirected to', '15001')
    .option('-z, --inbound-capture-port <port>', 'port inbound traffic is redirected to', '15006')
    .option('-u, --proxy-uid <uids>', 'UID(s) of the proxy, whose traffic is never captured', '1337')
    .option('-g, --proxy-gid <gids>', 'GID(s) of the proxy (default: the UIDs)')
    .option('-m, --interception-mode <mode>', 'only REDIRECT', 'REDIRECT')
    .option('-i, --include-ip-ranges <cidrs>', 'outbound CIDRs to capture: * for all, empty for none', '*')
    .option('-x, --exclude-ip-ranges <cidrs>', 'outbound CIDRs never captured', '')
    .option('-b, --include-inbound-ports <ports>', 'inbound ports to capture: * for all, empty for none', '')
    .option('-d, --exclude-inbound-ports <ports>', 'inbound ports never captured (with -b *)', '')
    .option('-o, --exclude-outbound-ports <ports>', 'outbound ports never captured', '')
    .option('-q, --include-outbound-ports <ports>', 'outbound ports captured whatever the destination', '')
    .option('-c, --exclude-interfaces <names>', 'network interfaces whose traffic is never captured', '')
    .option('-k, --kubevirt-interfaces <names>', "virtual interfaces whose incoming traffic is captured as outbound (a VM's)", '')
    .option('--dry-run', 'print the rules in iptables-restore format and change nothing')
    .option('--cleanup', "remove meshgate's chains and jumps")
    .action((opts: InitOpts) => {
      if (opts.cleanup) {
        const backend = detectBackend();
        if (opts.dryRun) {
          // --dry-run wins over every other flag: the current rules are read (iptables-save) and nothing is written.
          for (const family of families(undefined)) {
            const plan = cleanupPlan(backend, family);
            const tool = command(backend.variant, family, 'restore');
            process.stdout.write(plan === '' ? `# ${tool}: nothing of meshgate's to remove\n` : `# ${tool} --noflush\n${plan}`);
          }
          process.stderr.write(`meshgate init: dry run: nothing changed (iptables-${backend.variant}: ${backend.reason})\n`);
          return;
        }
        for (const family of families(undefined)) cleanupRules(backend, family);
        process.stderr.write(`meshgate init: removed the ISTIO_* nat chains (${backend.variant}: ${backend.reason})\n`);
        return;
      }
      const parsed = parseInitFlags(opts);
      if (!parsed.ok) {
        for (const error of parsed.errors) process.stderr.write(`meshgate init: ${error}\n`);
        process.exitCode = ExitCode.usage;
        return;
      }
      for (const warning of parsed.warnings) process.stderr.write(`meshgate init: warning: ${warning}\n`);
      if (opts.dryRun) {
        process.stderr.write('meshgate init: dry run: nothing changed\n');
        // Both families, labelled, so the output shows what ip6tables would get on a dual-stack pod.
        process.stdout.write(`# iptables-restore --noflush\n${renderRules(parsed.settings, 4)}`);
        process.stdout.write(`# ip6tables-restore --noflush\n${renderRules(parsed.settings, 6)}`);
        return;
      }
      const backend = detectBackend();
      for (const family of families(parsed.settings)) applyRules(parsed.settings, backend, family);
      process.stderr.write(`meshgate init: rules applied with iptables-${backend.variant} (${backend.reason})\n`);
    });
}
