// Writes the DOCX files the laws golden data is made from (into the folder given, laws.docx and
// laws-en.docx), with the `docx` library people write Word files with: Word heading styles,
// 第…条 / （一） bullets and tables; English headings over plain paragraphs without bullets.
import { writeFileSync } from 'node:fs';
import { Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow } from 'docx';

const H = { 1: HeadingLevel.HEADING_1, 2: HeadingLevel.HEADING_2, 3: HeadingLevel.HEADING_3 };
const zh = [
  [1, '中华人民共和国示例管理法'],
  [0, '目录'],
  [2, '第一章 总则'],
  [0, '第一条 为了规范示例管理活动，保护当事人的合法权益，制定本法。'],
  [0, '第二条 在中华人民共和国境内从事示例管理活动，适用本法。'],
  [0, '（一）示例的登记；'],
  [0, '（二）示例的变更；'],
  [0, ''],
  [2, '第二章 登记'],
  [3, '第一节 一般规定'],
  [0, '第三条 登记机关应当依法办理登记。'],
  ['table', [['事项', '期限'], ['变更', '十日']]],
  [0, '第四条 登记应当公开。'],
  [3, '第二节 特别规定'],
  [0, '第五条 特别登记由国务院规定。'],
  [2, '第三章 附则'],
  [0, '第六条 本法自公布之日起施行。'],
  [0, '附表：登记期限'],
  ['table', [['事项', '期限'], ['登记', '十五日']]],
];
const en = [
  [1, 'Community Guidelines'],
  [0, 'These guidelines apply to every member of the community.'],
  [2, 'Scope'],
  [0, 'They cover the forum, the chat and the issue tracker.'],
  [2, 'Conduct'],
  [0, 'Be kind, be patient, assume good faith.'],
  ['table', [['Channel', 'Moderator'], ['Forum', 'Alice'], ['Chat', 'Bob']]],
  [0, 'Report problems to the moderators.'],
  [1, 'Enforcement'],
  [0, 'Moderators may remove posts that break these guidelines.'],
];
const write = async (blocks, file) => {
const children = blocks.map(([level, text]) =>
  level === 'table'
    ? new Table({ rows: text.map((cells) => new TableRow({ children: cells.map((c) => new TableCell({ children: [new Paragraph(c)] })) })) })
    : level === 0
      ? new Paragraph({ text })
      : new Paragraph({ text, heading: H[level] }),
);
const doc = new Document({ sections: [{ children }] });
writeFileSync(`${process.argv[2]}/${file}`, new Uint8Array(await Packer.toBuffer(doc)));
};
await write(zh, 'laws.docx');
await write(en, 'laws-en.docx');
